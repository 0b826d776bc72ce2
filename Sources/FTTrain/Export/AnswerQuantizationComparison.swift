import Foundation

/// How far an INT8 question-answering model's answers are from the float32 model's on a
/// SQuAD-format set (`fttrain quantize --eval-file` on a `*ForQuestionAnswering` directory):
/// exact match and F1 of each as the SQuAD scripts compute them (v1.1 over the answerable
/// questions; v2.0 over all of them when the decoding predicts "no answer"), their deltas, and how
/// often both models give the very same answer.
public struct AnswerQuantizationComparison: Sendable {
    public let examples: Int
    /// `exact_match` and `f1` (v1.1), or the v2.0 script's `exact` as `exact_match`, `f1` and the
    /// `HasAns_`/`NoAns_` figures, of the float32 model.
    public let float32: [String: Double]
    /// The same of the INT8 model.
    public let int8: [String: Double]
    /// Share of questions where both models give the same answer at the same offsets (or both none).
    public let agreement: Double
    /// Largest |score_int8 − score_float32| over the questions both answer with the same span.
    public let largestScoreChange: Double

    /// - Parameter versionTwo: score with the SQuAD v2.0 script (unanswerable questions count), else v1.1 over the answerable ones.
    public init(examples e: [SquadExample], float32 f: [PredictedAnswer], int8 q: [PredictedAnswer], versionTwo: Bool) {
        precondition(e.count == f.count && e.count == q.count)
        examples = e.count
        func score(_ answers: [PredictedAnswer]) -> [String: Double] {
            if versionTwo {
                var metrics = SquadMetrics.v2(predictions: answers.map(\.text), answers: e.map(\.answerTexts))
                metrics["exact_match"] = metrics.removeValue(forKey: "exact")
                return metrics
            }
            let answered = e.indices.filter { e[$0].isAnswerable }
            return SquadMetrics.v1(predictions: answered.map { answers[$0].text }, answers: answered.map { e[$0].answerTexts })
        }
        float32 = score(f)
        int8 = score(q)
        let same = zip(f, q).filter { $0.text == $1.text && $0.start == $1.start && $0.end == $1.end }
        agreement = e.isEmpty ? 1 : Double(same.count) / Double(e.count)
        largestScoreChange = same.map { abs($0.score - $1.score) }.max() ?? 0
    }

    /// The figures as a JSON object (metrics in points, 0-100, as the SQuAD scripts print them).
    public var dictionary: [String: Any] {
        [
            "examples": examples, "float32": float32, "int8": int8,
            "exact_match_delta": (int8["exact_match"] ?? 0) - (float32["exact_match"] ?? 0),
            "f1_delta": (int8["f1"] ?? 0) - (float32["f1"] ?? 0),
            "agreement": agreement, "largest_score_change": largestScoreChange,
        ]
    }

    /// A few lines for a terminal.
    public var summary: String {
        func points(_ metrics: [String: Double]) -> String {
            String(format: "exact match %.2f, F1 %.2f", metrics["exact_match"] ?? 0, metrics["f1"] ?? 0)
        }
        return """
            \(examples) questions
              float32: \(points(float32))
              int8:    \(points(int8))
              exact match delta \(String(format: "%+.2f", (int8["exact_match"] ?? 0) - (float32["exact_match"] ?? 0))) points, \
            F1 delta \(String(format: "%+.2f", (int8["f1"] ?? 0) - (float32["f1"] ?? 0))) points, \
            answer agreement \(String(format: "%.2f%%", 100 * agreement)), largest score change \(String(format: "%.4f", largestScoreChange))
            """
    }
}

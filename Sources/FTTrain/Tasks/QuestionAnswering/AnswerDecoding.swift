import Foundation

/// An answer span decoded from start and end logits: the context's text, its Unicode-scalar
/// offsets `start ..< end`, and the span's score (start logit + end logit).
public struct AnswerSpan: Sendable, Equatable {
    public var text: String
    public var start: Int
    public var end: Int
    public var score: Float
    public var startLogit: Float
    public var endLogit: Float
    /// The softmax of the score over the n best spans (and the null span, SQuAD v2).
    public var probability: Float = 0
}

/// The answer of one example, as Hugging Face's `postprocess_qa_predictions` (utils_qa.py)
/// decides it.
public struct DecodedAnswer: Sendable, Equatable {
    /// The predicted text: the best span's, or "" when SQuAD v2 judges the question unanswerable.
    public var text: String
    /// The best non-null span (nil when no window offered a valid one).
    public var best: AnswerSpan?
    /// The n best candidates, best first (the null span among them in SQuAD v2, text "").
    public var nBest: [AnswerSpan]
    /// SQuAD v2: null score − the best span's start and end logits (the answer is "" above the threshold).
    public var scoreDifference: Float?
}

/// Hugging Face's `postprocess_qa_predictions` (transformers examples, utils_qa.py): for each
/// example, over all its windows, the `nBestSize` largest start and end logits are paired; a pair
/// counts when both tokens lie in the context, the end is not before the start and the span is at
/// most `maxAnswerLength` tokens. The best pair by start + end logit is the answer. With
/// `versionTwoWithNegative` the null span — the smallest `[CLS]` start + end score over the
/// windows — competes, and the answer is "" when null score − best span's score exceeds
/// `nullScoreDifferenceThreshold`.
public struct AnswerDecoding: Sendable {
    public var nBestSize = 20
    public var maxAnswerLength = 30
    public var versionTwoWithNegative = false
    public var nullScoreDifferenceThreshold: Float = 0

    public init(nBestSize: Int = 20, maxAnswerLength: Int = 30, versionTwoWithNegative: Bool = false, nullScoreDifferenceThreshold: Float = 0) {
        self.nBestSize = nBestSize
        self.maxAnswerLength = maxAnswerLength
        self.versionTwoWithNegative = versionTwoWithNegative
        self.nullScoreDifferenceThreshold = nullScoreDifferenceThreshold
    }

    /// The indices of the `n` largest values, largest first (numpy's `argsort()[-1:-n-1:-1]`:
    /// among equal values the later index first).
    static func top(_ values: [Float], _ n: Int) -> [Int] {
        let order = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 > $1 }
        return Array(order.prefix(n))
    }

    /// Decodes one example from its windows: each window's offsets (nil outside the context) and
    /// start and end logits, one per token.
    public func decode(context: String, windows: [(offsets: [Range<Int>?], startLogits: [Float], endLogits: [Float])]) -> DecodedAnswer {
        let scalars = Array(context.unicodeScalars)
        func text(_ range: Range<Int>) -> String {
            let lower = min(range.lowerBound, scalars.count), upper = min(max(range.upperBound, lower), scalars.count)
            return String(String.UnicodeScalarView(scalars[lower..<upper]))
        }
        var null: AnswerSpan? = nil
        var candidates: [AnswerSpan] = []
        for window in windows {
            let s = window.startLogits, e = window.endLogits
            let nullScore = s[0] + e[0]
            if null == nil || null!.score > nullScore {
                null = AnswerSpan(text: "", start: 0, end: 0, score: nullScore, startLogit: s[0], endLogit: e[0])
            }
            let ends = Self.top(e, nBestSize)
            for i in Self.top(s, nBestSize) {
                for j in ends {
                    guard i < window.offsets.count, j < window.offsets.count, let a = window.offsets[i], let b = window.offsets[j] else { continue }
                    guard j >= i, j - i + 1 <= maxAnswerLength else { continue }
                    candidates.append(
                        AnswerSpan(
                            text: text(a.lowerBound..<b.upperBound), start: a.lowerBound, end: b.upperBound, score: s[i] + e[j], startLogit: s[i],
                            endLogit: e[j]))
                }
            }
        }
        if versionTwoWithNegative, let null { candidates.append(null) }
        // Python's sort is stable: equal scores keep the order they were found in.
        var predictions = Array(
            candidates.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
                .map(\.element).prefix(nBestSize))
        func isNull(_ span: AnswerSpan) -> Bool { span.start == 0 && span.end == 0 }
        if versionTwoWithNegative, let null, !predictions.contains(where: isNull) { predictions.append(null) }
        if predictions.isEmpty || (predictions.count == 1 && predictions[0].text.isEmpty) {
            predictions.insert(AnswerSpan(text: "empty", start: 0, end: 0, score: 0, startLogit: 0, endLogit: 0), at: 0)
        }
        let maxScore = predictions.map(\.score).max()!
        let exps = predictions.map { expf($0.score - maxScore) }
        let sum = exps.reduce(0, +)
        for k in predictions.indices { predictions[k].probability = exps[k] / sum }

        guard versionTwoWithNegative, let null else {
            return DecodedAnswer(text: predictions[0].text, best: predictions[0], nBest: predictions, scoreDifference: nil)
        }
        // utils_qa: the first prediction whose text is not empty (the "empty" filler counts as text).
        guard let best = predictions.first(where: { !$0.text.isEmpty }) else {
            return DecodedAnswer(text: "", best: nil, nBest: predictions, scoreDifference: nil)
        }
        let difference = null.score - best.startLogit - best.endLogit
        return DecodedAnswer(
            text: difference > nullScoreDifferenceThreshold ? "" : best.text, best: best, nBest: predictions, scoreDifference: difference)
    }
}

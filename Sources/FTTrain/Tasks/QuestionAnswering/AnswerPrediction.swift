import FTCore
import FTModel
import Foundation

/// A predicted answer of a question about a context: the text, its Unicode-scalar offsets
/// `start ..< end` in the context, and its probability among the n best spans; `text` "" (and no
/// span) when a SQuAD v2 model judges the question unanswerable.
public struct PredictedAnswer: Sendable, Equatable {
    public var text: String
    public var start: Int?
    public var end: Int?
    public var score: Double

    /// `{"answer", "score", "start", "end"}` as `predict` prints it and `serve` returns it
    /// (Hugging Face's question-answering pipeline's keys).
    public var json: [String: Any] {
        var object: [String: Any] = ["answer": text, "score": score]
        if let start, let end {
            object["start"] = start
            object["end"] = end
        }
        return object
    }
}

/// Answers questions about contexts with a `*ForQuestionAnswering` model, as `predict` and
/// `serve` do: each pair windowed as in training (`QuestionAnsweringFeatures`), the windows run in
/// batches, the answer decoded over them (`AnswerDecoding`).
public enum AnswerPrediction {
    /// Whether `model` has a QA head.
    public static func isQuestionAnswering(_ model: any SequenceModel) -> Bool {
        model.architectureName.hasSuffix(EncoderHead.questionAnswering.architectureSuffix)
    }

    /// One answer per (question, context) pair, in order.
    /// - Throws: `ModelError` when the model has no QA head; `QuestionAnsweringFeatures.Problem`
    ///   when a question leaves no room for its context in `maxLength`.
    public static func answer(
        pairs: [(question: String, context: String)], model: any SequenceModel, tokenizer: any EncoderTokenizer,
        maxLength: Int = 384, docStride: Int = 128, decoding: AnswerDecoding = AnswerDecoding(), batchSize: Int = 16
    ) throws -> [PredictedAnswer] {
        guard isQuestionAnswering(model) else { throw ModelError.badInput("\(model.architectureName) has no question-answering head") }
        let examples = pairs.enumerated().map { k, pair in
            SquadExample(
                id: String(k), question: pair.question, context: pair.context, answerTexts: [], answerStarts: [],
                location: SourceLocation(file: "input", line: k + 1))
        }
        let length = min(maxLength, model.maxSequenceLength)
        let features = try QuestionAnsweringFeatures.make(
            examples, tokenizer: tokenizer, maxLength: length, docStride: docStride)
        let dataset = QuestionAnsweringTask.dataset(examples: examples, features: features)
        let logits = try QuestionAnsweringLogits.compute(
            model: model, dataset: dataset, batchSize: batchSize, padTokenId: tokenizer.padTokenId, world: SingleProcessWorld())
        var windows = [[(offsets: [Range<Int>?], startLogits: [Float], endLogits: [Float])]](repeating: [], count: examples.count)
        for (k, f) in features.enumerated() { windows[f.example].append((f.offsets, logits.start[k], logits.end[k])) }
        return examples.indices.map { e in
            let decoded = decoding.decode(context: examples[e].context, windows: windows[e])
            guard !decoded.text.isEmpty, let best = decoded.best else {
                let null = decoded.nBest.first { $0.start == 0 && $0.end == 0 && $0.text.isEmpty }
                return PredictedAnswer(text: "", start: nil, end: nil, score: Double(null?.probability ?? 0))
            }
            return PredictedAnswer(text: best.text, start: best.start, end: best.end, score: Double(best.probability))
        }
    }
}

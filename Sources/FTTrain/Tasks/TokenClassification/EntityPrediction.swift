import FTCore
import FTModel
import Foundation

/// An entity found in a raw text: its type and where it is, as Unicode-scalar offsets
/// `start ..< end` (Python's `str` indices, Hugging Face's `offset_mapping`), and its text.
public struct PredictedEntity: Sendable, Equatable {
    public var type: String
    public var start: Int
    public var end: Int
    public var text: String
    /// The mean over its words of the probability of each word's label (its first sub-token's),
    /// as the pipeline's `score` with `aggregation_strategy="first"`.
    public var score: Float

    public init(type: String, start: Int, end: Int, text: String, score: Float = 0) {
        self.type = type
        self.start = start
        self.end = end
        self.text = text
        self.score = score
    }

    /// `{"type": "PER", "start": 0, "end": 2, "text": "张三", "score": 0.98}`.
    public var json: [String: Any] { ["type": type, "start": start, "end": end, "text": text, "score": Double(score)] }

    /// Equal place, type and text (the score aside).
    public static func == (a: Self, b: Self) -> Bool { a.type == b.type && a.start == b.start && a.end == b.end && a.text == b.text }
}

/// Named entities of raw texts from a token classifier, as Hugging Face's
/// `pipeline("token-classification", aggregation_strategy="first")` groups them: the text is cut
/// into words where BERT's pre-tokenizer cuts it (`EncoderTokenizer.wordSpans`; for BERT each CJK character a
/// word), each word takes the label of its first sub-token, and BIO/BIOES tags over the words
/// become entities (seqeval's rules, `EntityMetrics.entities`) spanning their words' characters.
public enum EntityPrediction {
    /// The entities of every text, in order.
    public static func predict(
        texts: [String], model: any SequenceModel, tokenizer: any EncoderTokenizer, labels: [String], maxLength: Int, batchSize: Int
    ) throws -> [[PredictedEntity]] {
        try predictWords(texts: texts, model: model, tokenizer: tokenizer, labels: labels, maxLength: maxLength, batchSize: batchSize)
            .map(\.entities)
    }

    /// The entities of every text and each of its words with its label and that label's
    /// probability (`type` is the label; words cut off by `maxLength` are left out).
    public static func predictWords(
        texts: [String], model: any SequenceModel, tokenizer: any EncoderTokenizer, labels: [String], maxLength: Int, batchSize: Int
    ) throws -> [(entities: [PredictedEntity], words: [PredictedEntity])] {
        let spans = texts.map { tokenizer.wordSpans(of: $0) }
        let encoded = spans.map { tokenizer.encodeWords($0.map(\.text), maxLength: maxLength) }
        let dataset = EncodedDataset(
            encodings: encoded.map(\.encoding), tokenLabels: encoded.map { $0.wordIds.map { _ in -100 } }, texts: texts,
            pairs: texts.map { _ in nil })
        let result = try TokenPredictions.compute(
            model: model, dataset: dataset, classes: labels.count, batchSize: batchSize, padTokenId: tokenizer.padTokenId,
            world: SingleProcessWorld())
        return texts.indices.map { i in
            var tags = [String](repeating: "O", count: spans[i].count)  // words cut off by max_length stay O
            var scores = [Float](repeating: 0, count: spans[i].count)
            var previous: Int? = nil
            for (k, w) in encoded[i].wordIds.enumerated() {
                guard let w, w != previous else { continue }
                tags[w] = labels[Int(result.predicted[i][k])]
                scores[w] = result.scores[i][k]
                previous = w
            }
            let scalars = Array(texts[i].unicodeScalars)
            let labelled = Set(encoded[i].wordIds.compactMap { $0 })
            let words = spans[i].indices.filter(labelled.contains).map { w in
                PredictedEntity(type: tags[w], start: spans[i][w].start, end: spans[i][w].end, text: spans[i][w].text, score: scores[w])
            }
            let entities = EntityMetrics.entities(in: tags).map { e in
                let start = spans[i][e.start].start, end = spans[i][e.end].end
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[start..<end])
                let score = scores[e.start...e.end].reduce(0, +) / Float(e.end - e.start + 1)
                return PredictedEntity(type: e.type, start: start, end: end, text: String(view), score: score)
            }
            return (entities, words)
        }
    }
}

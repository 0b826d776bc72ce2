import FTCore
import FTModel
import Foundation

/// Token classification (named-entity recognition), Hugging Face's `run_ner.py`: tagged
/// sentences read from CoNLL or JSONL files (`TaggedSentences`), each word tokenized on its own
/// and its tag put on its first sub-token, the other sub-tokens −100 — or, with
/// `label_all_tokens`, on every sub-token (a `B-` tag becoming `I-` after the first, as
/// run_ner's `b_to_i_label`); the per-token cross-entropy (`TokenClassificationObjective`);
/// entity-level precision/recall/F1 per type, micro and macro, and token accuracy as seqeval
/// computes them over the labelled positions (`EntityMetrics`), as run_ner's `compute_metrics` does.
public final class TokenClassificationTask: FineTuningTask {
    /// The settings the task takes from the configuration.
    public struct Options: Sendable {
        public var scheme: TagScheme = .bio
        public var labelAllTokens = false
        public var maxLength = 512
        public var splitRatios: [Double] = [0.8, 0.1, 0.1]
        public var validationPath: String?
        public var testPath: String?
        public var seed: UInt64 = 42
        /// JSONL keys of the words and their tags.
        public var tokensKey = "tokens"
        public var tagsKey = "tags"

        public init() {}
    }

    public let labels: [String]
    public let objective: any TaskObjective
    public let train: EncodedDataset
    public let validation: EncodedDataset
    public let test: EncodedDataset
    public private(set) var logLines: [String] = []
    public let options: Options
    let padTokenId: Int32
    /// Sentences per split, in the order of the encoded datasets.
    private let splits: [(String, [TaggedSentence])]
    /// The share of word pieces that are `[UNK]` over every split.
    public let unknownTokenRate: Double

    /// Reads and splits the data (a seeded 8:1:1 by sentence when only `trainPath` is given) and
    /// encodes every split with `tokenizer`.
    /// - Throws: `DataError` naming the file and line of a malformed line, a tag outside the
    ///   scheme, or a tag of validation or test data that training never saw.
    public init(trainPath: String, options: Options, tokenizer: any EncoderTokenizer) throws {
        self.options = options
        padTokenId = tokenizer.padTokenId
        var log: [String] = []
        func read(_ path: String) throws -> [TaggedSentence] {
            let sentences = try TaggedSentences.read(path, scheme: options.scheme, tokensKey: options.tokensKey, tagsKey: options.tagsKey)
            log.append("\(path): \(sentences.count) sentences, \(sentences.reduce(0) { $0 + $1.tokens.count }) tokens")
            return sentences
        }
        var trainSentences = try read(trainPath)
        var validationSentences = try options.validationPath.map(read) ?? []
        var testSentences = try options.testPath.map(read) ?? []
        if options.validationPath == nil && options.testPath == nil {
            (trainSentences, validationSentences, testSentences) = try Self.split(trainSentences, ratios: options.splitRatios, seed: options.seed)
            log.append(
                "split \(trainPath) by \(options.splitRatios): \(trainSentences.count) / \(validationSentences.count) / \(testSentences.count)")
        }
        // Labels: the tags of training, sorted (run_ner's `get_label_list`).
        let labels = Array(Set(trainSentences.flatMap(\.tags))).sorted()
        let known = Set(labels)
        var unseen: [BadRow] = []
        for sentence in validationSentences + testSentences {
            if let k = sentence.tags.firstIndex(where: { !known.contains($0) }) {
                let jsonl = sentence.location.file.lowercased().hasSuffix(".jsonl")
                unseen.append(
                    BadRow(
                        location: SourceLocation(file: sentence.location.file, line: sentence.location.line + (jsonl ? 0 : k)),
                        reason: "tag \"\(sentence.tags[k])\" never occurs in the training data (\(labels.joined(separator: ", ")))"))
            }
        }
        if !unseen.isEmpty { throw DataError.badRows(unseen) }
        self.labels = labels
        objective = try TokenClassificationObjective(classes: labels.count)
        splits = [("train", trainSentences), ("validation", validationSentences), ("test", testSentences)]

        var counts = EncodingCounts()
        func encode(_ sentences: [TaggedSentence]) -> EncodedDataset {
            Self.encode(sentences, labels: labels, tokenizer: tokenizer, options: options, counts: &counts)
        }
        train = encode(trainSentences)
        validation = encode(validationSentences)
        test = encode(testSentences)
        unknownTokenRate = counts.pieces == 0 ? 0 : Double(counts.unknown) / Double(counts.pieces)
        log.append(String(format: "word pieces: %d, [UNK]: %d (%.2f%%)", counts.pieces, counts.unknown, 100 * unknownTokenRate))
        if counts.truncatedSentences > 0 {
            log.append(
                "\(counts.truncatedSentences) sentences (all splits) truncated to max_length \(options.maxLength): their last words have no label")
        }
        logLines = log
        guard train.count > 0 else { throw DataError.noDataRows(path: trainPath, skipped: 0) }
    }

    /// What encoding found: word pieces, `[UNK]`s among them, sentences cut by `max_length`.
    public struct EncodingCounts {
        public var pieces = 0, unknown = 0, truncatedSentences = 0
        public init() {}
    }

    /// Tagged sentences as the model sees them: each word tokenized on its own (`encodeWords`),
    /// its tag's id in `labels` on its first sub-token (or every sub-token with
    /// `label_all_tokens`, `B-` becoming `I-`), −100 elsewhere.
    /// - Precondition: every tag is one of `labels`.
    public static func encode(
        _ sentences: [TaggedSentence], labels: [String], tokenizer: any EncoderTokenizer, options: Options, counts: inout EncodingCounts
    ) -> EncodedDataset {
        let ids = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, Int32($0.offset)) })
        // run_ner's b_to_i_label: B-X → I-X when I-X is a label, else itself.
        let continuation: [Int32] = labels.map { label in
            guard label.hasPrefix("B-"), let i = ids["I-" + label.dropFirst(2)] else { return ids[label]! }
            return i
        }
        var encodings: [TokenizerEncoding] = [], tokenLabels: [[Int32]] = []
        for sentence in sentences {
            let words = tokenizer.encodeWords(sentence.tokens, maxLength: options.maxLength)
            var targets: [Int32] = []
            var previous: Int? = nil
            for w in words.wordIds {
                guard let w else {
                    targets.append(-100)
                    continue
                }
                let id = ids[sentence.tags[w]]!
                targets.append(w != previous ? id : (options.labelAllTokens ? continuation[Int(id)] : -100))
                previous = w
            }
            if let last = words.wordIds.dropLast().last ?? nil, last < sentence.tokens.count - 1 { counts.truncatedSentences += 1 }
            for id in words.encoding.inputIds.dropFirst().dropLast() {
                counts.pieces += 1
                if id == tokenizer.unknownTokenId { counts.unknown += 1 }
            }
            encodings.append(words.encoding)
            tokenLabels.append(targets)
        }
        return EncodedDataset(
            encodings: encodings, tokenLabels: tokenLabels, texts: sentences.map { $0.tokens.joined(separator: " ") },
            pairs: sentences.map { _ in nil }, sources: sentences.map(\.location.description))
    }

    /// A seeded shuffle of sentences cut by `ratios` (train, validation, test).
    static func split(_ sentences: [TaggedSentence], ratios: [Double], seed: UInt64) throws -> ([TaggedSentence], [TaggedSentence], [TaggedSentence])
    {
        guard ratios.count == 3, ratios.allSatisfy({ $0 >= 0 }), ratios[0] > 0 else {
            throw DataError.invalidSplit("split_ratios must be three fractions (train, validation, test) with train > 0")
        }
        var shuffled = sentences
        var rng = SeededRNG(seed: seed, stream: 0x4E45_5253)
        SeededShuffle.shuffle(&shuffled, using: &rng)
        let total = ratios.reduce(0, +), n = shuffled.count
        let nValidation = min(Int((Double(n) * ratios[1] / total).rounded()), max(n - 1, 0))
        let nTest = min(Int((Double(n) * ratios[2] / total).rounded()), max(n - 1 - nValidation, 0))
        return (
            Array(shuffled[(nValidation + nTest)...]), Array(shuffled[0..<nValidation]), Array(shuffled[nValidation..<(nValidation + nTest)])
        )
    }

    public func writeSplits(to directory: URL) throws {
        try JSONLines.writeSplits(splits, to: directory) { s in
            [options.tokensKey: s.tokens, options.tagsKey: s.tags, "source": s.location.description]
        }
    }

    public func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, prefix: String, batchSize: Int, world: TrainingWorld
    ) throws -> TaskEvaluation {
        try Self.evaluate(model: model, dataset: dataset, labels: labels, padTokenId: padTokenId, prefix: prefix, batchSize: batchSize, world: world)
    }

    /// The entity metrics (seqeval's) and loss of `model` on `dataset`, whose token labels are ids in
    /// `labels`; collective over `world`.
    public static func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, labels: [String], padTokenId: Int32, prefix: String, batchSize: Int,
        world: TrainingWorld
    ) throws -> TaskEvaluation {
        let result = try TokenPredictions.compute(
            model: model, dataset: dataset, classes: labels.count, batchSize: batchSize, padTokenId: padTokenId, world: world)
        // The labelled positions of each sentence, as run_ner's compute_metrics keeps them.
        var truth: [[String]] = [], predicted: [[String]] = []
        for i in 0..<dataset.count {
            var t: [String] = [], p: [String] = []
            for (k, label) in dataset.tokenLabels[i].enumerated() where label != -100 {
                t.append(labels[Int(label)])
                p.append(labels[Int(result.predicted[i][k])])
            }
            truth.append(t)
            predicted.append(p)
        }
        let metrics = EntityMetrics(truth: truth, predicted: predicted)
        var dictionary = metrics.dictionary(prefix: prefix)
        dictionary[prefix + "loss"] = result.loss
        return TaskEvaluation(metrics: dictionary) { output in
            let report = metrics.report(digits: 4)
            try report.write(to: output.appendingPathComponent("classification_report.txt"), atomically: true, encoding: .utf8)
            return "\n" + report
        }
    }
}

/// The argmax label of every token of a dataset and the token-weighted loss, in eval mode,
/// collective as `Predictions` (batches dealt round-robin, results gathered bit for bit).
struct TokenPredictions {
    /// Per example, one label id per token.
    let predicted: [[Int32]]
    /// Per example, the softmax probability of each token's predicted label.
    let scores: [[Float]]
    let loss: Double

    static func compute(
        model: any SequenceModel, dataset: EncodedDataset, classes L: Int, batchSize: Int, padTokenId: Int32, world: TrainingWorld
    ) throws -> TokenPredictions {
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        let starts = Array(stride(from: 0, to: order.count, by: max(batchSize, 1)))
        var offsets = [Int](repeating: 0, count: dataset.count + 1)
        for i in 0..<dataset.count { offsets[i + 1] = offsets[i] + dataset.encodings[i].count }
        var argmax = [Float](repeating: 0, count: offsets[dataset.count])
        var best = [Float](repeating: 0, count: offsets[dataset.count])
        var parts = [Float](repeating: 0, count: starts.count * 3)  // summed loss (high, remainder), targets
        var batch = PaddedBatch()
        for (j, start) in starts.enumerated() where j % world.size == world.rank {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let B = batch.batchSize, T = batch.sequenceLength
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: B, sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
            guard let logits = out.logits, model.architectureName.hasSuffix("ForTokenClassification") else {
                throw ModelError.badInput("\(model.architectureName) has no token-classification head")
            }
            var sum: Double = 0
            _ = TokenCrossEntropy.forward(logits: logits, labels: batch.labels, rows: B * T, classes: L, sum: &sum)
            let high = Float(sum)
            parts[3 * j] = high
            parts[3 * j + 1] = Float(sum - Double(high))
            parts[3 * j + 2] = Float(batch.labels.withUnsafeBufferPointer { TokenCrossEntropy.targetCount(labels: $0.baseAddress!, rows: B * T) })
            for (row, index) in batch.indices.enumerated() {
                for t in 0..<dataset.encodings[index].count {
                    let r = logits + (row * T + t) * L
                    var top = 0
                    for k in 1..<L where r[k] > r[top] { top = k }
                    var sum: Float = 0
                    for k in 0..<L { sum += expf(r[k] - r[top]) }
                    argmax[offsets[index] + t] = Float(top)
                    best[offsets[index] + t] = 1 / sum
                }
            }
        }
        try world.gatherDisjoint(&argmax)
        try world.gatherDisjoint(&best)
        try world.gatherDisjoint(&parts)
        var total = 0.0, tokens = 0.0
        for j in starts.indices {
            total += Double(parts[3 * j]) + Double(parts[3 * j + 1])
            tokens += Double(parts[3 * j + 2])
        }
        let predicted = (0..<dataset.count).map { i in argmax[offsets[i]..<offsets[i + 1]].map { Int32($0) } }
        let scores = (0..<dataset.count).map { i in Array(best[offsets[i]..<offsets[i + 1]]) }
        return TokenPredictions(predicted: predicted, scores: scores, loss: tokens > 0 ? total / tokens : 0)
    }
}

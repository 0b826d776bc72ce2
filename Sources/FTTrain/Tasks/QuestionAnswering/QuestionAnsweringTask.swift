import FTCore
import FTModel
import Foundation

/// Extractive question answering, Hugging Face's run_qa.py: SQuAD v1.1/v2.0 files (`SquadData`),
/// each example cut into windows of `max_length` tokens overlapping by `doc_stride`
/// (`QuestionAnsweringFeatures`), the start/end loss of `*ForQuestionAnswering`
/// (`QuestionAnsweringObjective`), answers decoded over all windows of an example
/// (`AnswerDecoding`, utils_qa's n-best search with the v2 null threshold) and scored by the
/// official SQuAD scripts' exact match and F1 (`SquadMetrics`).
public final class QuestionAnsweringTask: FineTuningTask {
    /// The settings the task takes from the configuration (run_qa's arguments).
    public struct Options: Sendable {
        public var maxLength = 384
        public var docStride = 128
        public var decoding = AnswerDecoding()
        public var splitRatios: [Double] = [0.8, 0.1, 0.1]
        public var validationPath: String?
        public var testPath: String?
        public var seed: UInt64 = 42

        public init() {}
    }

    /// The head's two outputs, as the exported `config.json` lists them.
    public static let outputNames = ["start", "end"]

    public var labels: [String] { Self.outputNames }
    public let objective: any TaskObjective = QuestionAnsweringObjective()
    public let train: EncodedDataset
    public let validation: EncodedDataset
    public let test: EncodedDataset
    public private(set) var logLines: [String] = []
    public let options: Options
    let padTokenId: Int32
    /// Per split: its name, examples and windows, in the order of the encoded datasets.
    let splits: [(name: String, examples: [SquadExample], features: [QuestionAnsweringFeature])]

    /// Reads, splits (a seeded 8:1:1 by context when only `trainPath` is given, so no context is
    /// in two splits) and windows the data.
    /// - Throws: `DataError` naming the file and record of a malformed example, or
    ///   `QuestionAnsweringFeatures.Problem` naming a question too long for `max_length`.
    public init(trainPath: String, options: Options, tokenizer: any EncoderTokenizer) throws {
        self.options = options
        padTokenId = tokenizer.padTokenId
        var log: [String] = []
        func read(_ path: String) throws -> [SquadExample] {
            let examples = try SquadData.read(path)
            let unanswerable = examples.filter { !$0.isAnswerable }.count
            log.append("\(path): \(examples.count) questions (\(unanswerable) unanswerable), \(Set(examples.map(\.context)).count) contexts")
            let misplaced = SquadData.misplacedAnswers(examples)
            if misplaced > 0 {
                log.append(
                    "warning: \(path): \(misplaced) answers differ from the context's text at their answer_start; their positions are used as given")
            }
            return examples
        }
        var trainExamples = try read(trainPath)
        var validationExamples = try options.validationPath.map(read) ?? []
        var testExamples = try options.testPath.map(read) ?? []
        if options.validationPath == nil && options.testPath == nil {
            (trainExamples, validationExamples, testExamples) = try Self.split(trainExamples, ratios: options.splitRatios, seed: options.seed)
            log.append(
                "split \(trainPath) by context \(options.splitRatios): \(trainExamples.count) / \(validationExamples.count) / \(testExamples.count) questions"
            )
        }
        if !options.decoding.versionTwoWithNegative, (trainExamples + validationExamples + testExamples).contains(where: { !$0.isAnswerable }) {
            log.append("warning: the data has unanswerable questions; set version_2_with_negative: true to predict \"no answer\" (SQuAD v2)")
        }
        var splits: [(name: String, examples: [SquadExample], features: [QuestionAnsweringFeature])] = []
        var datasets: [EncodedDataset] = []
        for (name, examples) in [("train", trainExamples), ("validation", validationExamples), ("test", testExamples)] {
            let features: [QuestionAnsweringFeature]
            do {
                features = try QuestionAnsweringFeatures.make(
                    examples, tokenizer: tokenizer, maxLength: options.maxLength, docStride: options.docStride)
            } catch let problem as QuestionAnsweringFeatures.Problem {
                throw DataError.badRows([BadRow(location: SourceLocation(file: trainPath, line: 0), reason: problem.description)])
            }
            splits.append((name, examples, features))
            datasets.append(Self.dataset(examples: examples, features: features))
            if !examples.isEmpty {
                let outside = features.filter { $0.startPosition == 0 && examples[$0.example].isAnswerable }.count
                log.append(
                    "\(name): \(features.count) windows of max_length \(options.maxLength), doc_stride \(options.docStride) (\(outside) without the whole answer, labelled [CLS])"
                )
            }
        }
        self.splits = splits
        train = datasets[0]
        validation = datasets[1]
        test = datasets[2]
        logLines = log
        guard train.count > 0 else { throw DataError.noDataRows(path: trainPath, skipped: 0) }
    }

    /// The windows as the trainer batches them: per-token start/end targets; the question and the
    /// context as text and pair; `file:line#window` as the source (unique per window).
    static func dataset(examples: [SquadExample], features: [QuestionAnsweringFeature]) -> EncodedDataset {
        var window = 0, previous = -1
        let sources = features.map { f -> String in
            window = f.example == previous ? window + 1 : 0
            previous = f.example
            return "\(examples[f.example].location)#\(examples[f.example].id)#\(window)"
        }
        return EncodedDataset(
            encodings: features.map(\.encoding), tokenLabels: features.map(\.targets),
            texts: features.map { examples[$0.example].question }, pairs: features.map { examples[$0.example].context }, sources: sources)
    }

    /// A seeded shuffle of the contexts cut by `ratios` (train, validation, test); each question
    /// goes with its context.
    static func split(_ examples: [SquadExample], ratios: [Double], seed: UInt64) throws -> ([SquadExample], [SquadExample], [SquadExample]) {
        guard ratios.count == 3, ratios.allSatisfy({ $0 >= 0 }), ratios[0] > 0 else {
            throw DataError.invalidSplit("split_ratios must be three fractions (train, validation, test) with train > 0")
        }
        var contexts: [String] = []
        var seen = Set<String>()
        for e in examples where seen.insert(e.context).inserted { contexts.append(e.context) }
        var rng = SeededRNG(seed: seed, stream: 0x5351_5541)
        SeededShuffle.shuffle(&contexts, using: &rng)
        let total = ratios.reduce(0, +), n = contexts.count
        let nValidation = min(Int((Double(n) * ratios[1] / total).rounded()), max(n - 1, 0))
        let nTest = min(Int((Double(n) * ratios[2] / total).rounded()), max(n - 1 - nValidation, 0))
        var place: [String: Int] = [:]
        for (k, c) in contexts.enumerated() { place[c] = k < nValidation ? 1 : k < nValidation + nTest ? 2 : 0 }
        let parts = (0..<3).map { p in examples.filter { place[$0.context] == p } }
        return (parts[0], parts[1], parts[2])
    }

    public func writeSplits(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for split in splits {
            var lines = Data()
            for e in split.examples {
                var record = e.jsonObject
                record["source"] = e.location.description
                lines.append(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]))
                lines.append(0x0A)
            }
            try lines.write(to: directory.appendingPathComponent("\(split.name).jsonl"), options: .atomic)
        }
    }

    /// The answers of every example of a split from the model, with the mean loss over its windows.
    public func predict(
        model: any SequenceModel, examples: [SquadExample], features: [QuestionAnsweringFeature], batchSize: Int, world: TrainingWorld
    ) throws -> (answers: [DecodedAnswer], loss: Double) {
        let logits = try QuestionAnsweringLogits.compute(
            model: model, dataset: Self.dataset(examples: examples, features: features), batchSize: batchSize, padTokenId: padTokenId, world: world)
        var windows = [[(offsets: [Range<Int>?], startLogits: [Float], endLogits: [Float])]](repeating: [], count: examples.count)
        var loss = 0.0
        for (k, f) in features.enumerated() {
            windows[f.example].append((f.offsets, logits.start[k], logits.end[k]))
            loss += Double(QuestionAnsweringLogits.loss(start: logits.start[k], end: logits.end[k], feature: f))
        }
        let answers = examples.indices.map { options.decoding.decode(context: examples[$0].context, windows: windows[$0]) }
        return (answers, features.isEmpty ? 0 : loss / Double(features.count))
    }

    public func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, prefix: String, batchSize: Int, world: TrainingWorld
    ) throws -> TaskEvaluation {
        guard
            let split = splits.first(where: {
                $0.features.count == dataset.count && Self.dataset(examples: $0.examples, features: $0.features).sources == dataset.sources
            })
        else { throw ModelError.badInput("the QA task evaluates its own splits only") }
        let (answers, loss) = try predict(model: model, examples: split.examples, features: split.features, batchSize: batchSize, world: world)
        let predicted = answers.map(\.text), gold = split.examples.map(\.answerTexts)
        var dictionary: [String: Double] = [prefix + "loss": loss]
        if options.decoding.versionTwoWithNegative {
            for (key, value) in SquadMetrics.v2(predictions: predicted, answers: gold) {
                dictionary[prefix + (key == "exact" ? "exact_match" : key)] = value
            }
        } else {
            // v1.1 scores answerable questions (the script has no other kind).
            let answered = split.examples.indices.filter { split.examples[$0].isAnswerable }
            for (key, value) in SquadMetrics.v1(predictions: answered.map { predicted[$0] }, answers: answered.map { gold[$0] }) {
                dictionary[prefix + key] = value
            }
        }
        let ids = split.examples.map(\.id), v2 = options.decoding.versionTwoWithNegative
        return TaskEvaluation(metrics: dictionary) { output in
            // run_qa's <prefix>predictions.json (id → text) and, for v2, null_odds.json.
            let predictions = Dictionary(uniqueKeysWithValues: zip(ids, predicted))
            let name = prefix.hasPrefix("test") ? "test" : "eval"
            try JSONSerialization.data(withJSONObject: predictions, options: [.prettyPrinted, .sortedKeys])
                .write(to: output.appendingPathComponent("\(name)_predictions.json"), options: .atomic)
            if v2 {
                let odds = Dictionary(uniqueKeysWithValues: zip(ids, answers.map { Double($0.scoreDifference ?? 0) }))
                try JSONSerialization.data(withJSONObject: odds, options: [.prettyPrinted, .sortedKeys])
                    .write(to: output.appendingPathComponent("\(name)_null_odds.json"), options: .atomic)
            }
            let keys = dictionary.keys.sorted().filter { !$0.hasSuffix("loss") }
            return keys.map { String(format: "%@ %.2f", $0, dictionary[$0]!) }.joined(separator: ", ")
        }
    }
}

/// Start and end logits of every window of a dataset in eval mode, collective as `Predictions`
/// (batches dealt round-robin, results gathered bit for bit).
public struct QuestionAnsweringLogits {
    public let start: [[Float]]
    public let end: [[Float]]

    public static func compute(
        model: any SequenceModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32, world: TrainingWorld
    ) throws -> QuestionAnsweringLogits {
        guard model.architectureName.hasSuffix(EncoderHead.questionAnswering.architectureSuffix) else {
            throw ModelError.badInput("\(model.architectureName) has no question-answering head")
        }
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        let starts = Array(stride(from: 0, to: order.count, by: max(batchSize, 1)))
        var offsets = [Int](repeating: 0, count: dataset.count + 1)
        for i in 0..<dataset.count { offsets[i + 1] = offsets[i] + dataset.encodings[i].count }
        var values = [Float](repeating: 0, count: 2 * offsets[dataset.count])
        var batch = PaddedBatch()
        for (j, start) in starts.enumerated() where j % world.size == world.rank {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let B = batch.batchSize, T = batch.sequenceLength
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: B, sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
            guard let logits = out.logits else { throw ModelError.badInput("\(model.architectureName) has no head") }
            for (row, index) in batch.indices.enumerated() {
                let n = dataset.encodings[index].count
                for k in 0..<(2 * n) { values[2 * offsets[index] + k] = logits[row * T * 2 + k] }
            }
        }
        try world.gatherDisjoint(&values)
        let start = (0..<dataset.count).map { i in stride(from: 2 * offsets[i], to: 2 * offsets[i + 1], by: 2).map { values[$0] } }
        let end = (0..<dataset.count).map { i in stride(from: 2 * offsets[i] + 1, to: 2 * offsets[i + 1], by: 2).map { values[$0] } }
        return QuestionAnsweringLogits(start: start, end: end)
    }

    /// The window's loss over its own tokens (no padding): the mean of the start and end cross-entropies.
    static func loss(start: [Float], end: [Float], feature: QuestionAnsweringFeature) -> Float {
        func ce(_ logits: [Float], _ target: Int) -> Float {
            let top = logits.max() ?? 0
            return logf(logits.reduce(0) { $0 + expf($1 - top) }) + top - logits[target]
        }
        return (ce(start, feature.startPosition) + ce(end, feature.endPosition)) / 2
    }
}

import FTCore
import FTModel
import Foundation

/// Supervised fine-tuning of a causal language model (TRL's `SFTTrainer`): SFT rows read
/// (`SFTData`), tokenized with per-token labels (−100 on prompts and padding, `SFTEncoding`),
/// optionally packed; the next-token loss (`CausalLanguageModelingObjective`); evaluation by
/// token-weighted loss and perplexity and, with `predict_with_generate`, greedy answers scored by
/// exact match (and by label accuracy when the completions come from a label column).
///
/// `labels` is empty: the head is the language-model head over the vocabulary, not a classifier,
/// so the model is loaded with no classification head and exported without `id2label`.
public final class CausalLanguageModelingTask: FineTuningTask {
    /// The settings the task takes from the configuration.
    public struct Options: Sendable {
        public var data = SFTDataOptions()
        /// Tokens per example after truncation (and per packed row).
        public var maxLength = 512
        /// TRL's `packing`: training examples concatenated into rows of `maxLength` (evaluation splits stay unpacked).
        public var packing = false
        /// Score greedy generations of each evaluation example's completion.
        public var predictWithGenerate = false
        /// Tokens generated per evaluation example at most.
        public var generationMaxNewTokens = 32
        /// Train/validation/test fractions when train_file alone is given.
        public var splitRatios: [Double] = [0.8, 0.1, 0.1]
        public var validationPath: String?
        public var testPath: String?
        public var seed: UInt64 = 42
        /// Drops an example that repeats an earlier one of the same file (prompt and completion
        /// alike), so no example is both trained and evaluated on when train_file is split.
        public var deduplicate = true

        public init() {}
    }

    public let labels: [String] = []
    public let objective: any TaskObjective
    public let train: EncodedDataset
    public let validation: EncodedDataset
    public let test: EncodedDataset
    public private(set) var logLines: [String] = []
    let options: Options
    let tokenizer: any CausalTokenizer
    /// The labels the completions were made from (labelled data with templates), sorted; empty otherwise.
    public let answerLabels: [String]
    private let splits: [(String, [SFTExample])]

    /// Reads and splits the data, and encodes every split with `tokenizer`.
    /// - Throws: `DataError` naming the file and line of bad rows; `ModelError` when no example is left.
    public init(trainPath: String, options: Options, tokenizer: any CausalTokenizer, vocabularySize: Int) throws {
        self.options = options
        self.tokenizer = tokenizer
        objective = try CausalLanguageModelingObjective(vocabularySize: vocabularySize)
        var log: [String] = []
        func read(_ path: String) throws -> [SFTExample] {
            var (examples, skipped) = try SFTData.read(path, options: options.data, tokenizer: tokenizer)
            log.append("\(path): \(examples.count) examples" + (skipped.isEmpty ? "" : ", \(skipped.count) bad rows skipped"))
            if !skipped.isEmpty { log.append(BadRow.summary(of: skipped)) }
            if options.deduplicate {
                var seen = Set<[SFTExample.Segment]>()
                let before = examples.count
                examples = examples.filter { seen.insert($0.segments).inserted }
                if examples.count < before { log.append("\(path): \(before - examples.count) repeated examples dropped (deduplicate)") }
            }
            return examples
        }
        var trainExamples = try read(trainPath)
        var validationExamples = try options.validationPath.map(read) ?? []
        var testExamples = try options.testPath.map(read) ?? []
        if options.validationPath == nil && options.testPath == nil {
            (trainExamples, validationExamples, testExamples) = try Self.split(trainExamples, ratios: options.splitRatios, seed: options.seed)
            log.append("split \(trainPath) by \(options.splitRatios): \(trainExamples.count) / \(validationExamples.count) / \(testExamples.count)")
        }
        answerLabels = Array(Set((trainExamples + validationExamples + testExamples).compactMap(\.label))).sorted()
        splits = [("train", trainExamples), ("validation", validationExamples), ("test", testExamples)]

        func encode(_ examples: [SFTExample], name: String, pack: Bool) -> EncodedDataset {
            let encoding = SFTEncoding(examples: examples, tokenizer: tokenizer, maxLength: options.maxLength)
            if !encoding.droppedByTruncation.isEmpty {
                log.append(
                    "\(name): \(encoding.droppedByTruncation.count) examples dropped, max_length \(options.maxLength) cut their whole completion: "
                        + encoding.droppedByTruncation.prefix(5).map(\.description).joined(separator: ", "))
            }
            if encoding.truncated > 0 { log.append("\(name): \(encoding.truncated) examples truncated to max_length \(options.maxLength)") }
            if pack {
                let rows = SFTEncoding.pack(encoding.rows, maxLength: options.maxLength)
                log.append("\(name): \(encoding.rows.count) examples packed into \(rows.count) rows of \(options.maxLength) tokens")
                return EncodedDataset(
                    encodings: rows.map { Self.encoding($0.ids) }, tokenLabels: rows.map(\.labels),
                    texts: rows.map { _ in "" }, pairs: rows.map { _ in nil })
            }
            let rows = encoding.rows
            return EncodedDataset(
                encodings: rows.map { Self.encoding($0.ids) }, tokenLabels: rows.map(\.labels),
                texts: rows.map { examples[$0.example].prompt },
                pairs: rows.map { examples[$0.example].prompt.isEmpty ? nil : examples[$0.example].completion },
                sources: rows.map { examples[$0.example].location.description })
        }
        train = encode(trainExamples, name: "train", pack: options.packing)
        validation = encode(validationExamples, name: "validation", pack: false)
        test = encode(testExamples, name: "test", pack: false)
        logLines = log
        guard train.count > 0 else { throw ModelError.badInput("\(trainPath): no training examples left after tokenization") }
    }

    static func encoding(_ ids: [Int32]) -> TokenizerEncoding {
        TokenizerEncoding(inputIds: ids, tokenTypeIds: ids.map { _ in 0 }, attentionMask: ids.map { _ in 1 })
    }

    /// A seeded shuffle cut by `ratios` (train, validation, test); validation gets at least one
    /// example when its ratio is positive and there are two or more.
    static func split(_ examples: [SFTExample], ratios: [Double], seed: UInt64) throws -> ([SFTExample], [SFTExample], [SFTExample]) {
        guard ratios.count == 3, ratios.allSatisfy({ $0 >= 0 }), ratios[0] > 0 else {
            throw DataError.invalidSplit("split_ratios must be three fractions (train, validation, test) with train > 0")
        }
        var shuffled = examples
        var rng = SeededRNG(seed: seed, stream: 0x5346_5453)
        SeededShuffle.shuffle(&shuffled, using: &rng)
        let total = ratios.reduce(0, +), n = shuffled.count
        var nValidation = Int((Double(n) * ratios[1] / total).rounded())
        let nTest = min(Int((Double(n) * ratios[2] / total).rounded()), max(n - 1 - nValidation, 0))
        if ratios[1] > 0 && nValidation == 0 && n - nTest >= 2 { nValidation = 1 }
        nValidation = min(nValidation, max(n - 1 - nTest, 0))
        let validation = Array(shuffled[0..<nValidation])
        let test = Array(shuffled[nValidation..<(nValidation + nTest)])
        return (Array(shuffled[(nValidation + nTest)...]), validation, test)
    }

    public func writeSplits(to directory: URL) throws {
        try JSONLines.writeSplits(splits, to: directory) { example in
            var record: [String: Any] = ["prompt": example.prompt, "completion": example.completion, "source": example.location.description]
            if let label = example.label { record["label"] = label }
            return record
        }
    }

    public func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, prefix: String, batchSize: Int, world: TrainingWorld
    ) throws -> TaskEvaluation {
        let loss = try CausalLMEvaluation.loss(
            model: model, dataset: dataset, batchSize: batchSize, padTokenId: tokenizer.padTokenId, world: world)
        var metrics: [String: Double] = [
            prefix + "loss": loss.mean, prefix + "perplexity": exp(loss.mean), prefix + "tokens": Double(loss.tokens),
        ]
        guard options.predictWithGenerate else { return TaskEvaluation(metrics: metrics) { _ in "" } }
        guard let causal = model as? any CausalLanguageModel else {
            throw ModelError.badInput("predict_with_generate needs a causal language model; \(model.architectureName) is not one")
        }
        let generations = try CausalLMEvaluation.generate(
            model: causal, tokenizer: tokenizer, dataset: dataset, maxNewTokens: options.generationMaxNewTokens, world: world)
        let scored = try CausalLMEvaluation.score(
            generations: generations, dataset: dataset, answerLabels: answerLabels,
            completionTemplate: options.data.promptTemplate == nil ? nil : options.data.completionTemplate)
        metrics.merge(scored.metrics(prefix: prefix)) { $1 }
        return TaskEvaluation(metrics: metrics) { output in
            try scored.writeGenerations(to: output.appendingPathComponent("generations.jsonl"))
            return scored.summary
        }
    }
}

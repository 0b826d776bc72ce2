import FTCore
import FTModel
import FTTrain
import Foundation

/// What a federation trains, for its sites and its coordinator alike: the base model with its
/// LoRA branches, how a file becomes examples, the loss, and how the global adapter is scored.
///
/// - Sequence classification (an encoder): the classes are `federation.labels`, every site maps
///   its labels onto them, the head trains with the adapter; scored by accuracy and F1.
/// - Token classification (`task: token_classification`, an encoder): `federation.labels` are the
///   tags in id order; each file is tagged sentences (CoNLL or JSONL, `tag_scheme`), every tag one of
///   them; the token head trains with the adapter; scored by seqeval's entity metrics.
/// - Causal LM (a decoder: `task: causal_lm`, or a `.gguf` file or `*ForCausalLM` directory as
///   `model_dir`): each file is SFT data read by the causal-LM task (chat rows, prompt/completion,
///   or labelled rows through `prompt_template`), the loss on the answer tokens, no classifier —
///   the adapter is the LoRA of the projections alone; scored by loss and perplexity (and exact
///   match of greedy answers with `predict_with_generate`). `federation.labels` is not used.
public final class FederatedTask {
    public let model: any SequenceModel
    public let isCausalLM: Bool
    /// The classes (sequence classification); empty for a causal LM.
    public let labels: [String]
    public let objective: any TaskObjective
    public let padTokenId: Int32
    /// How a step's micro-batch losses combine: Hugging Face's for the task.
    public let accumulationScaling: GradientAccumulationScaling
    /// Whether the last layer may compute the first token only (classification).
    public let firstTokenOnly: Bool
    private let configuration: TrainingConfiguration
    private let bertTokenizer: (any EncoderTokenizer)?
    private let causalTokenizer: (any CausalTokenizer)?

    /// A file read as this task reads it: its examples, and for a causal LM the task that scores them.
    public struct Split {
        public let dataset: EncodedDataset
        let causal: CausalLanguageModelingTask?
    }

    /// Whether `c` trains a causal LM: `task: causal_lm`, or no `task` and a decoder `model_dir`.
    public static func isCausalLM(_ c: TrainingConfiguration) -> Bool {
        c.task.map { $0 == .causalLM } ?? c.modelDir.map(CausalModelLoading.isCausalModel(path:)) ?? false
    }

    /// Loads the base model with LoRA (`peft: lora` required) and prepares it as `fttrain train` does.
    /// - Throws: `FederationError` for a missing `model_dir`, labels given to a causal LM or missing for
    ///   a classifier; `ModelError` from loading.
    public init(configuration c: TrainingConfiguration, labels: [String]) throws {
        guard c.peft == .lora else { throw FederationError(description: "federated training needs peft: lora (only LoRA deltas travel)") }
        guard let modelPath = c.modelDir else { throw FederationError(description: "model_dir is required") }
        guard c.task != .questionAnswering else {
            throw FederationError(
                description:
                    "task: question_answering is not supported in federated training yet (sequence and token classification, causal LM): train it with fttrain train"
            )
        }
        configuration = c
        isCausalLM = Self.isCausalLM(c)
        if isCausalLM {
            guard labels.isEmpty else {
                throw FederationError(
                    description:
                        "federation.labels is for sequence classification; \(modelPath) is a causal LM, whose answers come from the data (prompt_template and completion_template for labelled rows): remove it"
                )
            }
            let loaded = try CausalModelLoading.load(path: modelPath, peft: c.peftSetup, seed: c.rngSeed)
            model = loaded.model
            causalTokenizer = loaded.tokenizer
            bertTokenizer = nil
            objective = try CausalLanguageModelingObjective(vocabularySize: loaded.model.vocabularySize)
            padTokenId = loaded.tokenizer.padTokenId
            accumulationScaling = .tokenWeightedMean
            firstTokenOnly = false
        } else {
            guard labels.count >= 2 else {
                throw FederationError(
                    description: "federation.labels is required for sequence classification: the classes in id order, e.g. [fresh, rotten, plot]")
            }
            let base = URL(fileURLWithPath: modelPath, isDirectory: true)
            let tokenizer = try EncoderTokenizers.load(modelDirectory: base)
            let tokens = c.task == .tokenClassification
            model = try ModelRegistry.load(
                modelDirectory: base, numLabels: labels.count, head: tokens ? .tokenClassification : .sequenceClassification, seed: c.rngSeed,
                peft: c.peftSetup)
            bertTokenizer = tokenizer
            causalTokenizer = nil
            objective =
                tokens
                ? try TokenClassificationObjective(classes: labels.count)
                : try SequenceClassificationObjective(classes: labels.count, classWeights: nil)
            padTokenId = tokenizer.padTokenId
            // BertForTokenClassification's loss is a micro-batch mean, as the sequence head's.
            accumulationScaling = .meanOfMicroBatchMeans
            firstTokenOnly = !tokens
        }
        self.labels = labels
        try PEFTTraining.prepare(model: model, configuration: c, log: try TrainingLog(path: nil, quiet: true))
    }

    /// The examples of `path` (a site's `train_file`, the coordinator's validation or test file).
    /// - Throws: `DataError` naming the file and row; `FederationError` for a label outside the
    ///   federation's (classification) or a file with no usable example.
    public func read(_ path: String) throws -> Split {
        let maxLength = min(configuration.maxLength, model.maxSequenceLength)
        if configuration.task == .tokenClassification, let tokenizer = bertTokenizer {
            return Split(
                dataset: try FederatedData.encodeTagged(
                    path: path, labels: labels, configuration: configuration, tokenizer: tokenizer, maxLength: maxLength), causal: nil)
        }
        guard let causalTokenizer else {
            let dataset = try FederatedData.encode(
                path: path, labels: labels, configuration: configuration, tokenizer: bertTokenizer!, maxLength: maxLength)
            return Split(dataset: dataset, causal: nil)
        }
        // The whole file as one split: the federation's files are split already.
        var options = CausalLanguageModelingTask.Options(configuration: configuration, maxSequenceLength: model.maxSequenceLength)
        options.validationPath = nil
        options.testPath = nil
        options.splitRatios = [1, 0, 0]
        let task = try CausalLanguageModelingTask(
            trainPath: path, options: options, tokenizer: causalTokenizer, vocabularySize: model.vocabularySize)
        return Split(dataset: task.train, causal: task)
    }

    /// The model's metrics on `split` with keys prefixed `prefix`, in this process.
    public func evaluate(_ split: Split, prefix: String) throws -> [String: Double] {
        let batchSize = configuration.perDeviceEvalBatchSize
        if let task = split.causal {
            return try task.evaluate(model: model, dataset: split.dataset, prefix: prefix, batchSize: batchSize, world: SingleProcessWorld())
                .metrics
        }
        if configuration.task == .tokenClassification {
            return try TokenClassificationTask.evaluate(
                model: model, dataset: split.dataset, labels: labels, padTokenId: padTokenId, prefix: prefix, batchSize: batchSize,
                world: SingleProcessWorld()
            ).metrics
        }
        let predictions = try Predictions.compute(model: model, dataset: split.dataset, batchSize: batchSize, padTokenId: padTokenId)
        let metrics = try ClassificationMetrics.compute(
            labels: split.dataset.labels.map(Int.init), predictions: predictions.predictedClasses,
            probabilities: predictions.probabilities, classNames: labels, loss: predictions.loss)
        return metrics.dictionary(prefix: prefix)
    }
}

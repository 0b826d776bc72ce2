import FTCore
import FTModel
import Foundation

extension TrainingRun {
    /// The task of a run with its encoded data, and the model it trains.
    struct PreparedTask {
        let task: any FineTuningTask
        let model: any SequenceModel
        /// The id padding positions carry.
        let padTokenId: Int32
        /// Whether the step may compute the last layer for the first token only (classification).
        let firstTokenOnly: Bool
        /// How micro-batch losses enter an accumulated step: Hugging Face's for the task.
        let accumulationScaling: GradientAccumulationScaling
        /// The directory whose `config.json` and tokenizer files exports and checkpoints start
        /// from: `model_dir`, or for a `.gguf` file `output_dir/base_model` written from it.
        let baseModelDirectory: URL
    }

    /// The task `task` names, or the model implies (`causal_lm` for decoder models, else
    /// `sequence_classification`).
    /// - Throws: `ConfigurationError` naming `task` when it does not fit the model.
    func resolvedTask(modelPath: String) throws -> TaskType {
        let causal = CausalModelLoading.isCausalModel(path: modelPath)
        let task = configuration.task ?? (causal ? .causalLM : .sequenceClassification)
        func mismatch(_ message: String) -> ConfigurationError {
            ConfigurationError(source: nil, problems: [ConfigurationProblem(kind: .invalidValue, key: "task", message: message)])
        }
        if task == .causalLM && !causal {
            throw mismatch("`task` causal_lm needs a decoder model (a .gguf file or a *ForCausalLM directory); \(modelPath) is not one")
        }
        if task != .causalLM && causal {
            throw mismatch(
                "`task` \(task.rawValue) needs an encoder; \(modelPath) is a decoder model: use task causal_lm (with prompt_template for labelled data)"
            )
        }
        return task
    }

    /// Reads the data, loads the model (adapters initialised, frozen parts frozen) and encodes
    /// the splits; writes the splits into `output/data` on the coordinator.
    func prepareTask(modelPath: String, trainPath: String, output: URL, log: TrainingLog) throws -> PreparedTask {
        let c = configuration
        let baseModel = URL(fileURLWithPath: modelPath, isDirectory: true)
        let taskType = try resolvedTask(modelPath: modelPath)
        if c.addTokens != nil && (taskType == .questionAnswering || taskType == .causalLM) {
            throw Self.addTokensError("`add_tokens` applies to sequence_classification and token_classification, not \(taskType.rawValue)")
        }
        switch taskType {
        case .sequenceClassification:
            let problemType = try resolvedProblemType(trainPath: trainPath)
            if problemType != .singleLabelClassification {
                return try prepareProblemType(problemType, baseModel: baseModel, trainPath: trainPath, output: output, log: log)
            }
            // Data: read, clean, de-duplicate, split, label ids, imbalance handling (before the model, so a bad file fails first).
            let data = try SequenceClassificationTask.read(dataOptions(trainPath: trainPath))
            data.logLines.forEach(log.message)
            if world.isCoordinator { try data.writeSplits(to: output.appendingPathComponent("data")) }
            // Model: the pretrained encoder, a new head seeded from `seed`, dropout overrides applied.
            let (tokenizer, vocabularySize, baseModelDirectory) = try taskTokenizer(baseModel: baseModel, output: output, log: log)
            let model = try ModelRegistry.load(
                modelDirectory: baseModel, numLabels: data.labelSet.labels.count, seed: c.rngSeed,
                peft: c.peftSetup, overrides: c.modelOverrides, vocabularySize: vocabularySize)
            (model as? EncoderModel)?.problemType = problemType.rawValue
            // The task cuts its inputs at the model's positions itself (`min` below).
            try startModel(
                model, for: .sequenceClassification, tokenizerSize: tokenizer.vocabularySize, vocabulary: .vocabText(baseModel),
                maxLength: .capped, ignoring: [], log: log)
            let task = try SequenceClassificationTask(data: data, tokenizer: tokenizer, maxLength: min(c.maxLength, model.maxSequenceLength))
            return PreparedTask(
                task: task, model: model, padTokenId: tokenizer.padTokenId, firstTokenOnly: true,
                accumulationScaling: .meanOfMicroBatchMeans, baseModelDirectory: baseModelDirectory)
        case .tokenClassification:
            let (tokenizer, vocabularySize, baseModelDirectory) = try taskTokenizer(baseModel: baseModel, output: output, log: log)
            var options = TokenClassificationTask.Options()
            options.scheme = c.tagScheme
            options.labelAllTokens = c.labelAllTokens
            options.maxLength = c.maxLength
            options.splitRatios = c.splitRatios
            options.validationPath = c.validationFile
            options.testPath = c.testFile
            options.seed = c.rngSeed
            // Data first, so a bad file fails before the model loads; max_length is capped below.
            let task = try TokenClassificationTask(trainPath: trainPath, options: options, tokenizer: tokenizer)
            task.logLines.forEach(log.message)
            if world.isCoordinator { try task.writeSplits(to: output.appendingPathComponent("data")) }
            let model = try ModelRegistry.load(
                modelDirectory: baseModel, numLabels: task.labels.count, head: .tokenClassification, seed: c.rngSeed,
                peft: c.peftSetup, overrides: c.modelOverrides, vocabularySize: vocabularySize)
            try startModel(
                model, for: .tokenClassification, tokenizerSize: tokenizer.vocabularySize, vocabulary: .vocabText(baseModel),
                maxLength: .requiredUnlessInputsFit(longest: task.train.encodings.map(\.count).max() ?? 0),
                ignoring: ["class_weights", "oversample", "augment"], log: log)
            return PreparedTask(
                task: task, model: model, padTokenId: tokenizer.padTokenId, firstTokenOnly: false,
                // BertForTokenClassification's loss is a micro-batch mean, as the sequence head's.
                accumulationScaling: .meanOfMicroBatchMeans, baseModelDirectory: baseModelDirectory)
        case .questionAnswering:
            return try prepareQuestionAnswering(baseModel: baseModel, trainPath: trainPath, output: output, log: log)
        case .causalLM:
            let loaded = try causalModelLoader(modelPath, c)
            let model = loaded.model, tokenizer = loaded.tokenizer
            // The task cuts its sequences at the model's positions itself (its options below).
            try startModel(
                model, for: .causalLM, tokenizerSize: tokenizer.vocabularySize, vocabulary: .decoder(modelPath),
                maxLength: .capped, ignoring: ["class_weights", "oversample", "augment"], log: log)
            let task = try CausalLanguageModelingTask(
                trainPath: trainPath, options: CausalLanguageModelingTask.Options(configuration: c, maxSequenceLength: model.maxSequenceLength),
                tokenizer: tokenizer,
                vocabularySize: model.vocabularySize)
            task.logLines.forEach(log.message)
            if world.isCoordinator { try task.writeSplits(to: output.appendingPathComponent("data")) }
            var base = baseModel
            if modelPath.lowercased().hasSuffix(".gguf") {
                base = output.appendingPathComponent("base_model", isDirectory: true)
                if world.isCoordinator { try writeBaseDirectory(base, model: model, loaded: loaded, source: modelPath, log: log) }
            }
            return PreparedTask(
                task: task, model: model, padTokenId: tokenizer.padTokenId, firstTokenOnly: false,
                accumulationScaling: .tokenWeightedMean, baseModelDirectory: base)
        }
    }

    /// Where a model's vocabulary is described, for the message of a tokenizer larger than it.
    enum VocabularySource {
        /// An encoder directory: its `vocab.txt` against `config.json`'s `vocab_size`.
        case vocabText(URL)
        /// A decoder model (a `.gguf` file or a directory) at this path.
        case decoder(String)
    }

    /// How a task's `max_length` must fit the model's positions.
    enum MaxLengthFit {
        /// The task cuts its inputs at the model's positions itself: nothing to check.
        case capped
        /// `max_length` must not exceed the positions.
        case required
        /// `max_length` may exceed the positions when no training input (the longest has
        /// `longest` tokens) does.
        case requiredUnlessInputsFit(longest: Int)
    }

    /// The start-up every task makes once its data is read and its model loaded, in this order:
    /// the tokenizer fits the model's vocabulary, `max_length` fits its positions (`fit`), the
    /// LoRA branches and frozen tensors are prepared (`PEFTTraining`), mixed precision is applied,
    /// and a warning names the sequence-classification options in `ignoring` that are set.
    /// - Throws: `ModelError.badConfig` naming the vocabulary's file, `ConfigurationError` naming
    ///   `max_length`, or what the PEFT and mixed-precision preparations throw.
    func startModel(
        _ model: any SequenceModel, for task: TaskType, tokenizerSize: Int, vocabulary: VocabularySource,
        maxLength fit: MaxLengthFit, ignoring: [String], log: TrainingLog
    ) throws {
        let c = configuration
        guard tokenizerSize <= model.vocabularySize else {
            switch vocabulary {
            case .vocabText(let directory):
                throw ModelError.badConfig(
                    EncoderTokenizers.vocabularyFile(modelDirectory: directory).path,
                    "\(tokenizerSize) tokens, more than config.json's vocab_size \(model.vocabularySize)")
            case .decoder(let path):
                throw ModelError.badConfig(
                    path, "the tokenizer has \(tokenizerSize) tokens, more than the model's vocabulary \(model.vocabularySize)")
            }
        }
        let positions = model.maxSequenceLength
        let lengthFits: Bool
        switch fit {
        case .capped: lengthFits = true
        case .required: lengthFits = c.maxLength <= positions
        case .requiredUnlessInputsFit(let longest): lengthFits = c.maxLength <= positions || longest <= positions
        }
        guard lengthFits else {
            throw ConfigurationError(
                source: nil,
                problems: [
                    ConfigurationProblem(
                        kind: .invalidValue, key: "max_length", message: "`max_length` \(c.maxLength) exceeds the model's \(positions) positions")
                ])
        }
        try PEFTTraining.prepare(model: model, configuration: c, log: log)  // LoRA branches, frozen tensors
        try MixedPrecision.apply(to: model, bf16: c.bf16, log: log)
        let set = ["class_weights": c.classWeights != nil, "oversample": c.oversample, "augment": c.augment != nil]
        let ignored = ignoring.filter { set[$0] ?? false }
        if !ignored.isEmpty {
            log.message("warning: \(ignored.joined(separator: ", ")) apply to sequence classification; \(task.rawValue) ignores them")
        }
    }

    /// A Hugging Face directory standing for a `.gguf` base model: its `config.json` (the
    /// model's own keys) and tokenizer files, so `model/`, `adapter/` and checkpoints are written
    /// as from a model directory. The weights stay in the GGUF file.
    func writeBaseDirectory(_ directory: URL, model: any SequenceModel, loaded: CausalModelLoading.Loaded, source: String, log: TrainingLog) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = model.exportConfig(base: [:], labels: [])
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try loaded.writeTokenizerFiles?(directory)
        log.message("\(source): config.json and tokenizer files written to \(directory.path) for the exports")
    }
}

import FTCore
import FTModel
import Foundation

extension TrainingRun {
    /// `problem_type`, or what the training file's labels imply (`ProblemType.inferred`).
    /// - Throws: `ConfigurationError` when a multi-label or regression setting does not fit.
    func resolvedProblemType(trainPath: String) throws -> ProblemType {
        let c = configuration
        func problem(_ key: String, _ message: String) -> ConfigurationError {
            ConfigurationError(source: nil, problems: [ConfigurationProblem(kind: .invalidValue, key: key, message: message)])
        }
        guard c.threshold > 0 && c.threshold < 1 else { throw problem("threshold", "`threshold` must be in (0, 1), found \(c.threshold)") }
        if let separator = c.labelSeparator, separator.isEmpty {
            throw problem("label_separator", "`label_separator` must be a text such as | (or null)")
        }
        // Several label columns are the outputs of a regression.
        let type =
            try c.problemType ?? (c.labelColumns != nil ? .regression : nil)
            ?? ProblemType.inferred(trainPath: trainPath, labelColumn: c.labelColumn, separator: c.labelSeparator, format: c.dataFormat)
        if type != .multiLabelClassification {
            let set = [("thresholds", c.thresholds != nil), ("tune_thresholds", c.tuneThresholds)].filter(\.1).map(\.0)
            if let key = set.first {
                throw problem(key, "`\(key)` applies to multi_label_classification; problem_type is \(type.rawValue)")
            }
        }
        if c.labelColumns != nil && type != .regression {
            throw problem("label_columns", "`label_columns` holds the outputs of a regression; problem_type is \(type.rawValue)")
        }
        if type != .singleLabelClassification {
            let ignored = [("class_weights", c.classWeights != nil), ("oversample", c.oversample), ("augment", c.augment != nil)].filter(\.1).map(\.0)
            if !ignored.isEmpty {
                throw problem(
                    ignored[0],
                    "`\(ignored.joined(separator: "`, `"))` apply to single-label classification; problem_type \(type.rawValue) has no classes to balance"
                )
            }
        }
        return type
    }

    /// Multi-label or regression: data first (so a bad file fails before the model loads), then
    /// the model with a head of the labels' width (1 for regression), its `problem_type` set for
    /// the exported `config.json`.
    func prepareProblemType(_ problemType: ProblemType, baseModel: URL, trainPath: String, output: URL, log: TrainingLog) throws -> PreparedTask {
        let c = configuration
        func problem(_ key: String, _ message: String) -> ConfigurationError {
            ConfigurationError(source: nil, problems: [ConfigurationProblem(kind: .invalidValue, key: key, message: message)])
        }
        guard c.addTokens == nil else {
            throw Self.addTokensError("`add_tokens` is not supported with problem_type \(problemType.rawValue) yet")
        }
        let data = try ProblemTypeData.prepare(dataOptions(trainPath: trainPath), problemType: problemType, labelSeparator: c.labelSeparator)
        data.logLines.forEach(log.message)
        let tokenizer = try EncoderTokenizers.load(modelDirectory: baseModel)  // tokenizer.json or vocab.txt
        let model = try ModelRegistry.load(
            modelDirectory: baseModel, numLabels: data.labels.count, head: .sequenceClassification, seed: c.rngSeed,
            peft: c.peftSetup, overrides: c.modelOverrides)
        guard let encoder = model as? EncoderModel else {
            throw ModelError.badInput("problem_type \(problemType.rawValue) needs an encoder with a sequence head")
        }
        encoder.problemType = problemType.rawValue
        try startModel(
            model, for: .sequenceClassification, tokenizerSize: tokenizer.vocabularySize, vocabulary: .vocabText(baseModel),
            maxLength: .capped, ignoring: [], log: log)
        let thresholds =
            problemType == .multiLabelClassification
            ? try LabelThresholds.resolve(threshold: c.threshold, setting: c.thresholds, labels: data.labels) : nil
        if c.tuneThresholds && data.validation.isEmpty {
            throw problem("tune_thresholds", "`tune_thresholds` picks thresholds on the validation split, and it is empty")
        }
        let task = try ProblemTypeTask(
            data: data, tokenizer: tokenizer, maxLength: min(c.maxLength, model.maxSequenceLength), threshold: c.threshold,
            thresholds: thresholds, tuneThresholds: c.tuneThresholds)
        if world.isCoordinator { try task.writeSplits(to: output.appendingPathComponent("data")) }
        return PreparedTask(
            task: task, model: model, padTokenId: tokenizer.padTokenId, firstTokenOnly: true,
            // BertForSequenceClassification's BCE and MSE are micro-batch means, as its cross-entropy.
            accumulationScaling: .meanOfMicroBatchMeans, baseModelDirectory: baseModel)
    }
}

import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain prune`: unstructured magnitude pruning (with an optional recovery fine-tune that keeps
/// the mask) or structured attention-head pruning by importance (Michel et al. 2019).
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Prune an encoder: magnitude pruning to a sparsity, or attention heads by importance.",
        discussion: """
            --method magnitude sets the smallest-magnitude weights of the encoder layers' linear weights \
            (query, key, value, attention output, intermediate, output; not embeddings, norms, biases, \
            pooler or classifier) to zero: --sparsity of them all together (--scope global) or of each \
            tensor (--scope layer), as torch.nn.utils.prune's global_unstructured / l1_unstructured.
            --method heads scores each attention head by |∂loss/∂head_mask| summed over the labelled \
            --data-file (Michel et al. 2019), normalised per layer, and removes the --heads N (or \
            --head-fraction f) least important, keeping one head per layer; their weights leave the \
            model and config.json gets pruned_heads, so transformers loads it too.
            With --train-file (and --config, settings as for `fttrain train`), the pruned model is \
            fine-tuned to recover: OUT/pruned is the model before, OUT/model after (pruned weights \
            stay zero: their gradients are masked). Without it OUT is the pruned model directory.
            OUT/…/pruning.json records the method and the sparsity achieved.
              fttrain prune --model-dir M --output-dir OUT --method magnitude --sparsity 0.5 --scope global
              fttrain prune --model-dir M --output-dir OUT --method heads --head-fraction 0.25 --data-file dev.csv
            """)

    enum Method: String, ExpressibleByArgument, CaseIterable { case magnitude, heads }

    @OptionGroup var model: ModelDirectoryOption

    @Option(name: .customLong("output-dir"), help: "Where to write the pruned model (must not exist).")
    var outputDir: String

    @Option(help: "magnitude (unstructured) or heads (structured, by importance).")
    var method: Method

    @Option(help: "Magnitude: the fraction of layer weights set to zero, in [0, 1).")
    var sparsity: Double?

    @Option(help: "Magnitude: global (one threshold over all layer weights) or layer (each tensor to the sparsity).")
    var scope: String = "global"

    @Option(help: "Heads: how many attention heads to remove.")
    var heads: Int?

    @Option(name: .customLong("head-fraction"), help: "Heads: the fraction of all heads to remove, in [0, 1).")
    var headFraction: Double?

    @Option(name: .customLong("data-file"), help: "Heads: a labelled file (CSV/TSV/JSONL) the importance is measured on.")
    var dataFile: String?

    @Option(name: .customLong("text-column"), help: "The text column of --data-file.")
    var textColumn = "text"

    @Option(name: .customLong("text-pair-column"), help: "The second-segment column of --data-file, if any.")
    var textPairColumn: String?

    @Option(name: .customLong("label-column"), help: "The label column of --data-file.")
    var labelColumn = "label"

    @Option(name: .customLong("max-length"), help: "Tokens per text including [CLS]/[SEP].")
    var maxLength = 128

    @Option(name: .customLong("batch-size"), help: "Texts per importance batch.")
    var batchSize = 32

    @Option(
        name: .customLong("eval-file"),
        help: "A labelled file: accuracy and macro-F1 of the source, pruned (and recovered) models on it, printed and in pruning.json.")
    var evalFile: String?

    @Option(name: .customLong("train-file"), help: "Recovery fine-tune of the pruned model on this file.")
    var trainFile: String?

    @Option(help: "Settings of the recovery fine-tune (YAML or JSON, as for fttrain train).")
    var config: String?

    @Option(
        help: "Threads fttrain computes on, each running single-threaded OpenBLAS (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    func validate() throws {
        if FileManager.default.fileExists(atPath: outputDir) { throw ValidationError("--output-dir \(outputDir) already exists") }
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard WeightMask.Scope(rawValue: scope) != nil else { throw ValidationError("--scope must be global or layer, got \(scope)") }
        switch method {
        case .magnitude:
            guard let sparsity else { throw ValidationError("--method magnitude needs --sparsity") }
            guard sparsity.isFinite, (0..<1).contains(sparsity) else {
                throw ValidationError("--sparsity must be in [0, 1) (the fraction of layer weights set to zero), got \(sparsity)")
            }
            guard heads == nil, headFraction == nil else { throw ValidationError("--heads and --head-fraction belong to --method heads") }
        case .heads:
            guard (heads == nil) != (headFraction == nil) else { throw ValidationError("--method heads needs one of --heads or --head-fraction") }
            if let heads, heads < 0 { throw ValidationError("--heads must not be negative, got \(heads)") }
            if let headFraction, !(headFraction.isFinite && (0..<1).contains(headFraction)) {
                throw ValidationError("--head-fraction must be in [0, 1), got \(headFraction)")
            }
            guard dataFile != nil else { throw ValidationError("--method heads needs --data-file: a labelled file to measure head importance on") }
            guard sparsity == nil else { throw ValidationError("--sparsity belongs to --method magnitude") }
        }
        if config != nil && trainFile == nil { throw ValidationError("--config is the recovery fine-tune's: give --train-file too") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        guard !model.isGGUF else { throw CLIError("fttrain prune works on encoder model directories, not GGUF files") }
        let labels = try HuggingFaceExport.labels(modelDirectory: model.url) ?? []
        let output = URL(fileURLWithPath: outputDir, isDirectory: true)
        let prunedDirectory = trainFile == nil ? output : output.appendingPathComponent("pruned", isDirectory: true)
        var report: [String: Any] = ["method": method.rawValue, "source": model.path]
        let pruned: EncoderModel
        var mask: WeightMask?
        switch method {
        case .magnitude:
            pruned = try EncoderModel.load(modelDirectory: model.url, numLabels: labels.count)
            guard !pruned.isQuantized else { throw CLIError("prune the float32 model, then quantise it: \(model.path) is INT8") }
            try evaluate(pruned, labels: labels, as: "source", into: &report)
            let scope = WeightMask.Scope(rawValue: scope)!
            let weightMask = try WeightMask(model: pruned, sparsity: sparsity!, scope: scope)
            weightMask.apply(to: pruned.store)
            mask = weightMask
            report["target_sparsity"] = sparsity!
            report["scope"] = scope.rawValue
        case .heads:
            // The gradient of the model as it predicts: no dropout.
            let source = try EncoderModel.load(modelDirectory: model.url, numLabels: labels.count) { config in
                config.hiddenDropoutProb = 0
                config.attentionProbsDropoutProb = 0
                config.classifierDropout = 0
            }
            guard !labels.isEmpty else { throw CLIError("--method heads needs a classifier: \(model.path)/config.json has no id2label") }
            try evaluate(source, labels: labels, as: "source", into: &report)
            let dataset = try readLabelled(dataFile!, labels: labels, model: source)
            let importance = try HeadImportance.compute(
                model: source, dataset: dataset.examples, batchSize: batchSize, padTokenId: dataset.padTokenId)
            let count = try heads ?? HeadPruning.headCount(fraction: headFraction!, of: source.config)
            let removed = try importance.leastImportant(count)
            pruned = try HeadPruning.prune(source, removing: removed)
            report.merge(importance.dictionary) { $1 }
            report["heads_removed"] = count
            report["pruned_heads"] = pruned.config.prunedHeadsJSON
            report["heads_per_layer"] = (0..<pruned.config.numHiddenLayers).map(pruned.config.heads)
            report["data_file"] = dataFile!
            print("head importance (normalised per layer):")
            for (l, layer) in importance.normalized.enumerated() {
                print("  layer \(l): " + layer.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
            print("pruned_heads: \(pruned.config.prunedHeadsJSON.sorted { Int($0.key)! < Int($1.key)! })")
        }
        try evaluate(pruned, labels: labels, as: "pruned", into: &report)
        let sparsityReport = SparsityReport(model: pruned)
        report.merge(sparsityReport.dictionary) { $1 }
        report["parameters"] = pruned.store.count
        try PrunedModelExport.write(model: pruned, sourceDirectory: model.url, to: prunedDirectory, report: report)
        var lineage = try LineageRecord.derived(
            command: "prune", source: model.path, settings: lineageSettings,
            metrics: LineageRecord.numericMetrics(report).filter {
                $0.key.hasPrefix("eval_") || $0.key.contains("sparsity") || $0.key == "parameters"
            },
            inputs: [("data", dataFile), ("evaluation", evalFile)].compactMap { role, path in path.map { (role, $0) } })
        try lineage.write(into: [prunedDirectory])
        print(sparsityReport.summary)
        print("\(pruned.store.count) parameters; wrote \(prunedDirectory.path)")
        guard let trainFile else { return }

        // Recovery fine-tune: the pruned directory is the run's base model; the mask's gradients are zeroed every step.
        let configuration = try TrainingConfiguration.resolve(
            configFile: config,
            overrides: ["--model-dir", prunedDirectory.path, "--output-dir", output.path, "--train-file", trainFile])
        let run = TrainingRun(configuration: configuration)
        if let config { run.lineageInputs = [("config", config)] }
        if let mask { run.adjustGradients = { mask.maskGradients(of: $0) } }
        let metrics = try run.run()
        for key in metrics.keys.sorted() where key.hasPrefix("test_") || key.hasPrefix("eval_") {
            print("\(key): \(String(format: "%.4f", metrics[key]!))")
        }
        let recoveredDirectory = output.appendingPathComponent("model", isDirectory: true)
        if FileManager.default.fileExists(atPath: recoveredDirectory.path) {
            let recovered = try EncoderModel.load(
                modelDirectory: recoveredDirectory, numLabels: try HuggingFaceExport.labels(modelDirectory: recoveredDirectory)?.count ?? 0)
            try evaluate(recovered, labels: labels, as: "recovered", into: &report)
            let after = SparsityReport(model: recovered)
            print("after recovery: " + after.summary)
            report["after_recovery"] = after.dictionary
            report["recovery_metrics"] = metrics
            try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                .write(to: output.appendingPathComponent(PrunedModelExport.reportFile))
        }
    }

    /// The command's settings as `lineage.json` records them.
    private var lineageSettings: [String: Any] {
        var settings: [String: Any] = ["method": method.rawValue, "scope": scope, "max_length": maxLength, "batch_size": batchSize]
        settings["sparsity"] = sparsity
        settings["heads"] = heads
        settings["head_fraction"] = headFraction
        settings["text_column"] = textColumn
        settings["text_pair_column"] = textPairColumn
        settings["label_column"] = labelColumn
        return settings
    }

    /// With `--eval-file`: `model`'s accuracy and macro-F1 on it, printed and recorded as `eval_<name>`.
    private func evaluate(_ model: EncoderModel, labels: [String], as name: String, into report: inout [String: Any]) throws {
        guard let evalFile else { return }
        guard !labels.isEmpty else { throw CLIError("--eval-file needs a classifier: \(self.model.path)/config.json has no id2label") }
        let data = try readLabelled(evalFile, labels: labels, model: model)
        let predictions = try Predictions.compute(model: model, dataset: data.examples, batchSize: 64, padTokenId: data.padTokenId)
        let metrics = try ClassificationMetrics.compute(
            labels: data.examples.labels.map(Int.init), predictions: predictions.predictedClasses,
            probabilities: predictions.probabilities, classNames: labels)
        report["eval_" + name] = ["accuracy": metrics.accuracy, "f1_macro": metrics.macroAverage.f1, "examples": metrics.sampleCount]
        print(String(format: "%@ model on %@: accuracy %.4f, macro-F1 %.4f", name, evalFile, metrics.accuracy, metrics.macroAverage.f1))
    }

    /// The labelled file tokenised with the model's tokenizer, label names mapped to the model's ids.
    private func readLabelled(_ path: String, labels: [String], model: EncoderModel) throws -> (examples: EncodedDataset, padTokenId: Int32) {
        let options = DataReadOptions(columns: DataColumns(text: textColumn, textPair: textPairColumn, label: labelColumn))
        let examples = try DataReader.read(path, options: options).examples
        guard !examples.isEmpty else { throw CLIError("\(path): no labelled examples") }
        let ids = try examples.map { example -> Int32 in
            guard let id = labels.firstIndex(of: example.label) else {
                throw CLIError("\(path): label \"\(example.label)\" (\(example.location)) is not one of the model's labels \(labels)")
            }
            return Int32(id)
        }
        let tokenizer = try EncoderTokenizers.load(modelDirectory: self.model.url)
        let dataset = EncodedDataset.encode(
            texts: examples.map(\.text), pairs: examples.map(\.textPair), labels: ids, tokenizer: tokenizer,
            maxLength: min(maxLength, model.config.maxPositionEmbeddings))
        return (dataset, tokenizer.padTokenId)
    }
}

import FTCore
import FTModel
import Foundation

/// One fine-tuning run of a sequence classifier, end to end, as `fttrain train` performs it:
/// data → tokenizer → pretrained encoder with a new head → training loop (AdamW, schedule,
/// accumulation, clipping, dropout) → evaluation → the output directory. With `task: causal_lm`
/// (the default for decoder models) the same loop fine-tunes a language model on SFT data
/// (`CausalLanguageModelingTask`): no new head, the next-token loss, `eval_loss`/`eval_perplexity`
/// and, with `predict_with_generate`, `generations.jsonl` in place of the classification reports.
///
/// Output directory contract (scripts rely on it):
/// - `metrics.json`: `eval_*` (validation) and, when a test split exists, `test_*`, plus `train_*`;
/// - `log.jsonl`: a line per logging step (step, epoch, loss, learning_rate, grad_norm,
///   samples_per_second) and one per evaluation;
/// - `model/`: a Hugging Face model directory (`AutoModelForSequenceClassification` loads it);
/// - `adapter/`: with `peft: lora`, the adapter in PEFT's format (head included; `PeftModel`
///   loads it over the base model), and `model/` is the merged model; with `peft: adapter`, the
///   bottleneck adapters, and no `model/` (they do not merge into a plain model);
/// - `confusion_matrix.csv`, `errors.jsonl` (misclassified examples) and
///   `classification_report.txt`, of the test split when there is one, else of validation, with
///   `predictions.jsonl` (every example of that split: label, prediction, probabilities);
/// - `report.html`: the run's HTML report (`RunReport`);
/// - `training_config.yaml`: the effective configuration;
/// - `lineage.json` (also in `model/` and `adapter/`, and in each checkpoint): inputs and splits
///   with their SHA-256, the base model's, settings, fttrain's commit, metrics, parent run;
/// - `trace.json` (or `trace_file`): with `trace: true`, the Chrome trace of every rank (`Tracer`);
/// - `runs/<date>_<host>/events.out.tfevents.*`: with `report_to: tensorboard`, TensorBoard's
///   event files (every `log.jsonl` number under HF's tag, the settings as text);
/// - `data/{train,validation,test}.jsonl`: the examples of each split after cleaning, so a run can
///   be reproduced or compared (another trainer on the very same split).
public final class TrainingRun {
    public let configuration: TrainingConfiguration
    /// The ranks training together; rank 0 alone logs, evaluates and writes.
    public let world: TrainingWorld

    /// Asked at every step boundary (on every rank): a signal number stops the run there with a
    /// checkpoint and `TrainingInterrupted`. By default, `PreemptionSignal` (once installed).
    public var stopRequested: () -> Int32? = { PreemptionSignal.requested }

    /// Loads the decoder model and tokenizer of a causal-LM run from `model_dir` (a HF directory
    /// or a `.gguf` file). By default, `CausalModelLoading.load`.
    public var causalModelLoader: (_ path: String, _ configuration: TrainingConfiguration) throws -> CausalModelLoading.Loaded = {
        try CausalModelLoading.load(path: $0, peft: $1.peftSetup, seed: $1.rngSeed)
    }

    /// Called with the model's store on every step once the gradient is complete, before clipping
    /// (`ClassificationStep.adjustGradients`): a pruning mask's recovery fine-tune (`fttrain prune`)
    /// zeroes the pruned weights' gradients there, so they stay zero.
    public var adjustGradients: ((ParameterStore) -> Void)?

    /// Called on every rank after each evaluation during training, with its number (1, 2, …),
    /// the step and the metrics; throwing ends the run there with that error (`fttrain tune`'s
    /// pruner stops a trial so). A stopped run keeps what it has written.
    public var evaluationObserver: ((_ evaluation: Int, _ step: Int, _ metrics: [String: Double]) throws -> Void)?
    /// Called on every rank at each step boundary, after its evaluation and checkpoint (`fttrain
    /// tune`'s rank 0 answers the other trial groups there).
    public var stepObserver: ((_ step: Int) throws -> Void)?

    /// The `command` of the run's `lineage.json` (`train`; `prune` names its recovery fine-tune).
    public var lineageCommand = "train"
    /// Input files beyond the data files that `lineage.json` lists with their sums (the
    /// `--config` file: role `config`).
    public var lineageInputs: [(role: String, path: String)] = []

    /// - Precondition: `configuration` has been validated (`TrainingConfiguration.resolve`).
    public init(configuration: TrainingConfiguration, world: TrainingWorld = SingleProcessWorld()) {
        self.configuration = configuration
        self.world = world
    }

    /// Runs training and evaluation; returns the final metrics (as written to `metrics.json`).
    @discardableResult
    public func run() throws -> [String: Double] {
        let c = configuration
        guard let outputPath = c.outputDir, let modelPath = c.modelDir, let trainPath = c.trainFile else {
            throw ModelError.badInput("output_dir, model_dir and train_file are required")
        }
        let output = URL(fileURLWithPath: outputPath, isDirectory: true)
        let coordinator = world.isCoordinator
        if coordinator {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try c.yamlString().write(to: output.appendingPathComponent("training_config.yaml"), atomically: true, encoding: .utf8)
        }
        let log =
            coordinator
            ? try TrainingLog(path: output.appendingPathComponent("log.jsonl").path)
            : try TrainingLog(path: nil, quiet: true)
        let runStarted = Date()
        let traceURL = (c.trace || c.traceFile != nil) ? URL(fileURLWithPath: c.traceFile ?? output.appendingPathComponent("trace.json").path) : nil
        Tracer.current = traceURL == nil ? nil : Tracer(rank: world.rank)
        defer { Tracer.current = nil }
        if coordinator && c.reportTo != .none {
            let writer = try TensorBoardWriter(logDirectory: TensorBoardWriter.defaultLogDirectory(output: output))
            try writer.text("args", "```\n" + c.yamlString() + "```")
            log.tensorBoard = writer
            log.message("TensorBoard event file: \(writer.path)")
        }

        // The task (classification or causal LM, by `task` or the model), its data and the model.
        let prepared = try prepareTask(modelPath: modelPath, trainPath: trainPath, output: output, log: log)
        let task = prepared.task, model = prepared.model, labels = task.labels
        let baseModel = prepared.baseModelDirectory
        let train = task.train
        guard train.count > 0 else { throw ModelError.badInput("\(trainPath): no training examples left after preparation") }

        try startInAgreement(model.store, labels: labels, trainExamples: train.count)

        // Resume: the checkpoint rank 0 picks, read by every rank. The plan: steps as Hugging
        // Face's Trainer counts them over this rank's shard (a resumed run's as its checkpoint has them).
        let resumed = try c.resumeFromCheckpoint.map { try openCheckpoint($0, output: output, log: log) }
        let plan = try makePlan(trainExamples: train.count, parameterCount: model.store.count, resumed: resumed, log: log)
        let optimizer = AdamW(
            store: model.store, beta1: c.adamBeta1, beta2: c.adamBeta2, epsilon: c.adamEpsilon,
            weightDecay: c.weightDecay, decaying: WeightDecayMask.huggingFace(model.store))
        let stepper = try ClassificationStep(
            model: model, objective: task.objective, optimizer: optimizer, schedule: plan.schedule,
            maxGradNorm: c.maxGradNorm, accumulationScaling: prepared.accumulationScaling)
        stepper.firstTokenOnly = prepared.firstTokenOnly
        stepper.adjustGradients = adjustGradients
        log.message(
            "model: \(modelPath), \(model.store.count) parameters, "
                + (labels.isEmpty ? "language-model head" : "\(labels.count) labels \(labels)"))
        if plan.ranks > 1 && prepared.accumulationScaling == .tokenWeightedMean {
            let world = world
            stepper.averageAcrossRanks = { value in
                var mean = Float(value)  // target counts: integers, exact in float32 below 2^24
                try world.averageInPlace(&mean, count: 1)
                return Double(mean)
            }
        }
        if plan.ranks > 1 {
            stepper.gradientSynchronizer = makeGradientSynchronizer(
                world: world, model: model, overlap: c.ddpOverlapAllreduce,
                bucketCapMB: c.ddpBucketCapMB, sparseEmbeddings: c.ddpSparseEmbeddings)
        }
        log.message(plan.description)
        let lineage = coordinator ? try startLineage(modelPath: modelPath, task: task, plan: plan, resumed: resumed) : nil

        // The loop: from step 0 or the checkpoint's progress, every step's data from `EpochBatches`.
        var progress = try startingProgress(resumed, stepper: stepper, output: output, log: log)
        let batches = EpochBatches(
            dataset: train, plan: plan, rank: world.rank, seed: c.rngSeed, padTokenId: prepared.padTokenId,
            groupByLength: c.groupByLength)
        let loop = TrainingLoop(
            run: self, plan: plan, stepper: stepper, batches: batches, task: task, log: log, output: output,
            baseModel: baseModel, resumedAt: resumed?.trainerState.globalStep)
        loop.lineage = lineage
        try loop.train(&progress)
        log.message("trained \(progress.step) steps in \(String(format: "%.1f", Date().timeIntervalSince(runStarted))) s")
        loop.restoreBestModel(progress)

        // Final evaluation (every rank its share); reports and the exported model: the coordinator's work alone.
        var metrics: [String: Double] = [
            "train_loss": progress.trainLossSum / Double(max(progress.trainSamples, 1)),
            "train_steps": Double(progress.step), "epoch": Double(progress.step) / Double(plan.updatesPerEpoch),
            "train_runtime": Date().timeIntervalSince(runStarted),
        ]
        if let finishing = task as? any TaskFinishing {
            try finishing.finishTraining(model: model, batchSize: c.perDeviceEvalBatchSize, world: world, log: log)
        }
        // The reports are of the test split when there is one, else of validation.
        var reported: TaskEvaluation?
        for (dataset, prefix) in [(task.validation, "eval_"), (task.test, "test_")] where dataset.count > 0 {
            let evaluation = try Tracer.current.span("evaluation \(prefix)", category: "eval") {
                try task.evaluate(
                    model: model, dataset: dataset, prefix: prefix, batchSize: c.perDeviceEvalBatchSize,
                    world: world)
            }
            metrics.merge(evaluation.metrics) { $1 }
            reported = evaluation
        }
        if let traceURL, let tracer = Tracer.current {
            let events = try tracer.gatherEvents(world: world)  // collective
            if coordinator {
                try Tracer.write(events, to: traceURL)
                log.message("trace written: \(traceURL.path) (\(events.count) events, \(world.size) rank\(world.size == 1 ? "" : "s"))")
            }
        }
        guard coordinator else { return [:] }
        try writeJSON(metrics, to: output.appendingPathComponent("metrics.json"))
        // The final train_* and test_* metrics in TensorBoard too, as HF logs them after training.
        var final = metrics.filter { !$0.key.hasPrefix("eval_") && $0.key != "epoch" }
        final["step"] = Double(progress.step)
        try log.tensorBoard?.record(final)
        if let reported { log.message(try reported.writeReports(output)) }
        try PEFTTraining.writeOutputs(
            model: model, labels: labels, baseModelDirectory: baseModel, output: output, log: log, dtype: c.saveDtype.safeTensorsDType)
        try writeTaskFiles(task, output: output)
        if let lineage { try writeLineage(lineage, metrics: metrics, output: output, log: log) }
        RunReport.writeAtEnd(of: output, log: log.message)
        return metrics
    }

    // MARK: - Pieces

    /// Collective: every rank must hold the same model, labels and settings; then rank 0's
    /// parameters are broadcast so the replicas start bit-identical.
    func startInAgreement(_ store: ParameterStore, labels: [String], trainExamples: Int) throws {
        var checksum = Checksum()
        checksum.add(UnsafeRawBufferPointer(store.values))
        checksum.add(configuration.describe() + labels.joined(separator: "\u{1F}") + "\(trainExamples)")
        try world.checkSame(checksum.value, what: "model parameters, labels, data and settings")
        try world.broadcastFromCoordinator(store.values.baseAddress!, count: store.count)
    }

    /// The data layer's options from the configuration.
    func dataOptions(trainPath: String) -> DataPreparationOptions {
        let c = configuration
        let weighting: ClassWeighting
        switch c.classWeights {
        case nil: weighting = .none
        case .balanced?: weighting = .balanced
        case .list(let values)?: weighting = .byClassId(values)
        case .byLabel(let map)?: weighting = .byLabel(map)
        }
        let r = c.splitRatios
        return DataPreparationOptions(
            trainPath: trainPath, validationPath: c.validationFile, testPath: c.testFile,
            read: c.readOptions,
            ratios: SplitRatios(train: r[0], validation: r[1], test: r[2]), seed: c.rngSeed,
            deduplicate: c.deduplicate, oversample: c.oversample, classWeighting: weighting, augment: c.augment)
    }

    func writeJSON(_ values: [String: Double], to url: URL) throws {
        try JSONSerialization.data(withJSONObject: values, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
    }
}

import FTCore
import FTModel
import Foundation

/// One fine-tuning run of a sequence classifier, end to end, as `fttrain train` performs it:
/// data → tokenizer → pretrained encoder with a new head → training loop (AdamW, schedule,
/// accumulation, clipping, dropout) → evaluation → the output directory.
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
///   `classification_report.txt`, of the test split when there is one, else of validation;
/// - `training_config.yaml`: the effective configuration;
/// - `data/{train,validation,test}.jsonl`: the examples of each split after cleaning, so a run can
///   be reproduced or compared (another trainer on the very same split).
public final class TrainingRun {
    public let configuration: TrainingConfiguration
    /// The ranks training together; rank 0 alone logs, evaluates and writes.
    public let world: TrainingWorld

    /// Asked at every step boundary (on every rank): a signal number stops the run there with a
    /// checkpoint and `TrainingInterrupted`. By default, `PreemptionSignal` (once installed).
    public var stopRequested: () -> Int32? = { PreemptionSignal.requested }

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
        let baseModel = URL(fileURLWithPath: modelPath, isDirectory: true)
        let coordinator = world.isCoordinator
        if coordinator {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try c.yamlString().write(to: output.appendingPathComponent("training_config.yaml"), atomically: true, encoding: .utf8)
        }
        let log = coordinator ? try TrainingLog(path: output.appendingPathComponent("log.jsonl").path)
                              : try TrainingLog(path: nil, quiet: true)
        let runStarted = Date()

        // Data: read, clean, de-duplicate, split, label ids, imbalance handling.
        let data = try TextClassificationData.prepare(dataOptions(trainPath: trainPath))
        data.logLines.forEach(log.message)
        let labels = data.labelSet.labels
        if coordinator { try writeSplits(data, to: output.appendingPathComponent("data")) }

        // Model: the pretrained encoder, a new head seeded from `seed`, dropout overrides applied.
        let tokenizer = try BertTokenizer.load(modelDirectory: baseModel)
        let model = try BertModel.load(modelDirectory: baseModel, numLabels: labels.count, seed: c.rngSeed,
                                       peft: c.peftSetup) { config in
            if let p = c.hiddenDropoutProb { config.hiddenDropoutProb = Float(p) }
            if let p = c.attentionProbsDropoutProb { config.attentionProbsDropoutProb = Float(p) }
            if let p = c.classifierDropout { config.classifierDropout = Float(p) }
        }
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw ModelError.badConfig(baseModel.appendingPathComponent("vocab.txt").path,
                                       "\(tokenizer.vocabularySize) tokens, more than config.json's vocab_size \(model.config.vocabSize)")
        }
        try PEFTTraining.prepare(model: model, configuration: c, log: log)  // LoRA branches, frozen tensors
        let maxLength = min(c.maxLength, model.config.maxPositionEmbeddings)
        func encode(_ examples: [EncodedExample]) -> EncodedDataset {
            EncodedDataset.encode(texts: examples.map(\.text), pairs: examples.map(\.textPair),
                                  labels: examples.map { Int32($0.labelId) }, sources: examples.map(\.location.description),
                                  tokenizer: tokenizer, maxLength: maxLength)
        }
        let train = encode(data.train), validation = encode(data.validation), test = encode(data.test)
        guard train.count > 0 else { throw ModelError.badInput("\(trainPath): no training examples left after preparation") }

        // Every rank must hold the same model, labels and settings; then rank 0's parameters are
        // broadcast so the replicas start bit-identical.
        var checksum = Checksum()
        checksum.add(UnsafeRawBufferPointer(model.store.values))
        checksum.add(c.describe() + labels.joined(separator: "\u{1F}") + "\(train.count)")
        try world.checkSame(checksum.value, what: "model parameters, labels, data and settings")
        try world.broadcastFromCoordinator(model.store.values.baseAddress!, count: model.store.count)

        // Steps, as Hugging Face's Trainer counts them, over this rank's shard (DistributedSampler:
        // ceil(n / ranks) examples per rank, the permutation padded by repeating its start).
        let batchSize = c.perDeviceTrainBatchSize
        var accumulation = c.gradientAccumulationSteps
        let ranks = world.size
        // Resume: the checkpoint rank 0 picks, read by every rank; a checkpoint of another number
        // of ranks keeps its global batch through the accumulation.
        let resumed = try c.resumeFromCheckpoint.map { try openCheckpoint($0, output: output, log: log) }
        if let resumed {
            accumulation = try resumedAccumulation(resumed.trainerState, trainExamples: train.count,
                                                   parameterCount: model.store.count, log: log)
        }
        // With dataloader_drop_last the sampler drops the tail too (DistributedSampler(drop_last=True)).
        let shardSize = EpochOrder.shardSize(count: train.count, ranks: ranks, dropLast: c.dataloaderDropLast)
        let microBatchesPerEpoch = c.dataloaderDropLast ? shardSize / batchSize : (shardSize + batchSize - 1) / batchSize
        guard microBatchesPerEpoch > 0 else {
            throw ModelError.badInput("\(train.count) training examples over \(ranks) rank\(ranks == 1 ? "" : "s") give \(shardSize) per rank, "
                                      + "fewer than one batch of \(batchSize) with dataloader_drop_last")
        }
        let updatesPerEpoch = max((microBatchesPerEpoch + accumulation - 1) / accumulation, 1)
        var totalSteps = c.maxSteps > 0 ? c.maxSteps : Int((c.numTrainEpochs * Double(updatesPerEpoch)).rounded(.up))
        let warmup = LearningRateSchedule.resolveWarmupSteps(trainingSteps: totalSteps, warmupSteps: Double(c.warmupSteps),
                                                             warmupRatio: c.warmupRatio)
        var schedule = LearningRateSchedule(type: c.lrSchedulerType, baseLearningRate: c.learningRate,
                                            warmupSteps: warmup, trainingSteps: totalSteps)
        if let resumed {
            // The schedule continues as the checkpoint's run defined it.
            if resumed.scheduler.schedule != schedule {
                log.message("note: the schedule continues as saved (\(resumed.scheduler.trainingSteps) steps, \(resumed.scheduler.warmupSteps) warmup), "
                            + "not as this configuration would set it (\(totalSteps) steps, \(warmup) warmup)")
            }
            schedule = resumed.scheduler.schedule
            totalSteps = resumed.trainerState.maxSteps
        }
        let stepper = try ClassificationStep(model: model, schedule: schedule, weightDecay: c.weightDecay,
                                             beta1: c.adamBeta1, beta2: c.adamBeta2, epsilon: c.adamEpsilon,
                                             maxGradNorm: c.maxGradNorm, classWeights: data.classWeights,
                                             accumulationScaling: .meanOfMicroBatchMeans)
        log.message("model: \(modelPath), \(model.store.count) parameters, \(labels.count) labels \(labels)")
        if ranks > 1 {
            stepper.gradientSynchronizer = makeGradientSynchronizer(world: world, store: model.store, overlap: c.ddpOverlapAllreduce,
                                                                    bucketCapMB: c.ddpBucketCapMB, sparseEmbeddings: c.ddpSparseEmbeddings)
        }
        log.message("global batch: \(batchSize) per device × \(ranks) rank\(ranks == 1 ? "" : "s") × \(accumulation) accumulation = \(batchSize * ranks * accumulation); "
                    + "\(updatesPerEpoch) steps per epoch, \(totalSteps) steps, \(schedule.warmupSteps) warmup")

        // Evaluation (every rank evaluates its share), best-model tracking and early stopping.
        let metricName = c.resolvedMetricForBestModel
        let bestKey = metricName.hasPrefix("eval_") ? metricName : "eval_" + metricName
        var best: (value: Double, step: Int, parameters: [Float])?
        var bestCheckpoint: String?
        var patienceCounter = 0
        func earlyStop(_ counter: Int) -> Bool { c.earlyStoppingPatience.map { counter >= $0 } ?? false }
        /// Evaluates; returns whether the metric is a new best.
        func evaluateDuringTraining(step: Int, epoch: Double) throws -> Bool {
            guard validation.count > 0 else { return false }
            let (_, _, values) = try self.evaluate(model: model, dataset: validation, labels: labels, prefix: "eval_",
                                                    padTokenId: tokenizer.padTokenId)
            var record: [String: Any] = values
            record["step"] = step
            record["epoch"] = epoch
            log.record(record)
            log.message("eval at step \(step): " + values.keys.sorted().filter { !$0.hasPrefix("eval_f1_") }
                .map { "\($0) \(String(format: "%.4f", values[$0]!))" }.joined(separator: ", "))
            guard let value = values[bestKey] else { return false }
            let greater = c.resolvedGreaterIsBetter
            // Hugging Face's EarlyStoppingCallback: against the best before this evaluation.
            if let previous = best?.value, !((greater ? value > previous : value < previous) && abs(value - previous) > c.earlyStoppingThreshold) {
                patienceCounter += 1
            } else {
                patienceCounter = 0
            }
            let better = best.map { greater ? value > $0.value : value < $0.value } ?? true
            if better {
                best = (value, step, c.loadBestModelAtEnd ? Array(model.store.values) : [])
                bestCheckpoint = nil
            }
            return better
        }

        // The loop: a seeded permutation per epoch, micro-batches of `batchSize` with dynamic
        // padding, `accumulation` of them per optimizer step.
        var dropoutSeeds = SeededRNG(seed: c.rngSeed, stream: RandomStreams.dropout(rank: world.rank))
        var step = 0, epoch = 0, firstUpdate = 0
        var window = (loss: 0.0, steps: 0, samples: 0, started: Date(), synchronization: 0.0)
        var trainLossSum = 0.0, trainSamples = 0
        if let resumed {
            let state = resumed.trainerState
            try resumed.restoreModel(model)
            try resumed.restoreOptimizer(stepper.optimizer)
            log.restore(history: resumed.logHistory)
            step = state.globalStep
            (epoch, firstUpdate) = (state.cursor.epoch, state.cursor.updateInEpoch)
            (trainLossSum, trainSamples) = (state.trainLossSum, state.trainSamples)
            (window.loss, window.steps, window.samples) = (state.windowLoss, state.windowSteps, state.windowSamples)
            patienceCounter = state.earlyStoppingPatienceCounter
            bestCheckpoint = state.bestModelCheckpoint
            if let value = state.bestMetric, let bestStep = state.bestGlobalStep {
                best = (value, bestStep, c.loadBestModelAtEnd ? try resumed.bestParameters(output: output, store: model.store) ?? [] : [])
            }
            // The dropout stream continues where this rank left it; with another number of ranks,
            // where such a run would be: one draw per step.
            if let generator = resumed.rankState?.generator {
                dropoutSeeds = generator
            } else {
                for _ in 0..<step { _ = dropoutSeeds.next() }
            }
            log.message("resumed from \(resumed.directory.path) at step \(step) (epoch \(epoch), step \(firstUpdate) of it)")
        }
        let checkpoints = CheckpointWriter(output: output, world: world, totalLimit: c.saveTotalLimit)
        var lastSaved = resumed?.trainerState.globalStep ?? -1
        func saveCheckpoint(cursor: TrainerState.DataCursor, epochProgress: Double) throws -> String {
            let name = CheckpointDirectory.name(step: step)
            guard lastSaved != step else { return name }
            if let b = best, b.step == step { bestCheckpoint = name }
            // The best model travels with the checkpoint when no checkpoint of its step holds it.
            let bestParameters = c.loadBestModelAtEnd && best != nil && bestCheckpoint == nil ? best!.parameters : nil
            let state = TrainerState(
                globalStep: step, epoch: epochProgress, maxSteps: totalSteps, cursor: cursor,
                bestMetric: best?.value, bestGlobalStep: best?.step, bestModelCheckpoint: bestCheckpoint,
                earlyStoppingPatienceCounter: patienceCounter, logHistory: TrainingLog.records(log.history),
                trainLossSum: trainLossSum, trainSamples: trainSamples,
                windowLoss: window.loss, windowSteps: window.steps, windowSamples: window.samples,
                worldSize: ranks, perDeviceTrainBatchSize: batchSize, gradientAccumulationSteps: accumulation,
                seed: c.seed, trainExamples: train.count, parameterCount: model.store.count)
            let written = try checkpoints.save(CheckpointContents(
                model: model, labels: labels, baseModelDirectory: baseModel, optimizer: stepper.optimizer, schedule: schedule,
                trainerState: state,
                rankState: RankState(rank: world.rank, worldSize: ranks, globalStep: step, dropoutGenerator: dropoutSeeds, cursor: cursor),
                logHistory: log.history, bestParameters: bestParameters))
            lastSaved = step
            log.message("checkpoint written: \(written.directory.path)"
                        + (written.removed.isEmpty ? "" : "; removed \(written.removed.map(\.lastPathComponent).joined(separator: ", "))"))
            return name
        }
        var padded = [PaddedBatch](repeating: PaddedBatch(), count: accumulation)
        var stopSignal: Int32?
        training: while step < totalSteps {
            var order = EpochOrder.shard(EpochOrder.permutation(count: train.count, seed: c.rngSeed, epoch: epoch),
                                         rank: world.rank, ranks: ranks, dropLast: c.dataloaderDropLast)
            if c.groupByLength {
                order = EpochOrder.lengthGrouped(order, lengths: train.encodings.map(\.count), batchSize: batchSize)
            }
            let starts = Array(stride(from: 0, to: microBatchesPerEpoch * batchSize, by: batchSize))
            for (update, groupStart) in stride(from: 0, to: starts.count, by: accumulation).enumerated() where update >= firstUpdate {
                let group = starts[groupStart..<min(groupStart + accumulation, starts.count)]
                var micro: [ClassificationStep.Batch] = []
                for (k, start) in group.enumerated() {
                    padded[k].fill(from: train, indices: order[start..<min(start + batchSize, order.count)],
                                   padTokenId: tokenizer.padTokenId)
                    micro.append(ClassificationStep.Batch(inputIds: padded[k].inputIds, tokenTypeIds: padded[k].tokenTypeIds,
                                                          attentionMask: padded[k].attentionMask, labels: padded[k].labels,
                                                          sequenceLength: padded[k].sequenceLength))
                }
                let result = try stepper.step(micro, dropoutSeed: dropoutSeeds.next())
                step += 1
                if ranks > 1, c.ddpParameterCheckSteps > 0, step % c.ddpParameterCheckSteps == 0 {
                    try world.checkSame(ParameterChecksum.of(model.store.values), what: "the parameters after step \(step)")
                }
                // The logged loss is the mean over ranks (each rank's is over its own micro-batches);
                // the same all-reduce tells every rank whether any was asked to stop.
                var stepLoss = result.loss
                let localStop = stopRequested()
                if ranks > 1 {
                    var shared: [Float] = [stepLoss, localStop == nil ? 0 : 1]
                    try world.averageInPlace(&shared, count: 2)
                    stepLoss = shared[0]
                    if shared[1] > 0 { stopSignal = localStop ?? SIGTERM }
                } else {
                    stopSignal = localStop
                }
                let samples = micro.reduce(0) { $0 + $1.batchSize } * ranks
                let epochProgress = Double(epoch) + Double(update + 1) / Double(updatesPerEpoch)
                window.loss += Double(stepLoss)
                window.synchronization += result.synchronizationSeconds
                window.steps += 1
                window.samples += samples
                trainLossSum += Double(stepLoss) * Double(samples)
                trainSamples += samples
                let seconds = Date().timeIntervalSince(window.started)
                log.progress(step: step, totalSteps: totalSteps, epoch: epochProgress, loss: window.loss / Double(window.steps),
                             samplesPerSecond: Double(window.samples) / max(seconds, 1e-9))
                if step % c.loggingSteps == 0 || step == totalSteps {
                    var record: [String: Any] = [
                        "step": step, "epoch": epochProgress, "loss": window.loss / Double(window.steps),
                        "learning_rate": result.learningRate, "grad_norm": Double(result.gradientNorm),
                        "samples_per_second": Double(window.samples) / max(seconds, 1e-9)]
                    if ranks > 1 {
                        // Share of the window rank 0 spent in the gradient all-reduce, waits for slower ranks included.
                        record["allreduce_fraction"] = window.synchronization / max(seconds, 1e-9)
                    }
                    log.record(record)
                    window = (0, 0, 0, Date(), 0)
                }
                var newBest = false
                if c.evalStrategy == .steps, step % c.resolvedEvalSteps == 0 { newBest = try evaluateDuringTraining(step: step, epoch: epochProgress) }
                let cursor = TrainerState.DataCursor(epoch: epoch, updateInEpoch: update + 1)
                let saveNow = (c.saveStrategy == .steps && (step % c.saveSteps == 0 || step == totalSteps))
                    || (c.saveStrategy == .best && newBest)
                if saveNow || stopSignal != nil { _ = try saveCheckpoint(cursor: cursor, epochProgress: epochProgress) }
                if let stopSignal {
                    throw TrainingInterrupted(signal: stopSignal, step: step,
                                              checkpoint: output.appendingPathComponent(CheckpointDirectory.name(step: step)).path)
                }
                if step >= totalSteps || earlyStop(patienceCounter) { break training }
            }
            firstUpdate = 0
            epoch += 1
            if c.evalStrategy == .epoch {
                let newBest = try evaluateDuringTraining(step: step, epoch: Double(epoch))
                if c.saveStrategy == .best && newBest {
                    _ = try saveCheckpoint(cursor: .init(epoch: epoch, updateInEpoch: 0), epochProgress: Double(epoch))
                }
            }
            if c.saveStrategy == .epoch { _ = try saveCheckpoint(cursor: .init(epoch: epoch, updateInEpoch: 0), epochProgress: Double(epoch)) }
            if earlyStop(patienceCounter) { break training }
        }
        if earlyStop(patienceCounter) {
            log.message("early stopping: \(patienceCounter) evaluations without improving \(bestKey) by more than \(c.earlyStoppingThreshold)")
        }
        log.message("trained \(step) steps in \(String(format: "%.1f", Date().timeIntervalSince(runStarted))) s")
        if let best, c.loadBestModelAtEnd, best.parameters.count == model.store.count {
            best.parameters.withUnsafeBufferPointer { model.store.values.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
            log.message("restored the best model: step \(best.step), \(bestKey) \(best.value)")
        }

        // Final evaluation (every rank its share); reports and the exported model: the coordinator's work alone.
        var metrics: [String: Double] = ["train_loss": trainLossSum / Double(max(trainSamples, 1)),
                                         "train_steps": Double(step), "epoch": Double(step) / Double(updatesPerEpoch),
                                         "train_runtime": Date().timeIntervalSince(runStarted)]
        var reported: (ClassificationMetrics, Predictions, EncodedDataset)?
        for (dataset, prefix) in [(validation, "eval_"), (test, "test_")] where dataset.count > 0 {
            let (result, predictions, values) = try evaluate(model: model, dataset: dataset, labels: labels, prefix: prefix,
                                                                padTokenId: tokenizer.padTokenId)
            metrics.merge(values) { $1 }
            reported = (result, predictions, dataset)
        }
        guard coordinator else { return [:] }
        try writeJSON(metrics, to: output.appendingPathComponent("metrics.json"))
        if let (result, predictions, dataset) = reported {
            let report = result.classificationReport(digits: 4)
            try report.write(to: output.appendingPathComponent("classification_report.txt"), atomically: true, encoding: .utf8)
            try result.confusionMatrixCSV().write(to: output.appendingPathComponent("confusion_matrix.csv"), atomically: true, encoding: .utf8)
            try writeErrors(predictions: predictions, dataset: dataset, labels: labels,
                            to: output.appendingPathComponent("errors.jsonl"))
            log.message("\n" + report)
        }
        try PEFTTraining.writeOutputs(model: model, labels: labels, baseModelDirectory: baseModel, output: output, log: log)
        return metrics
    }

    // MARK: - Pieces

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
            deduplicate: c.deduplicate, oversample: c.oversample, classWeighting: weighting)
    }

    /// Predictions and metrics of `model` on `dataset`, with keys prefixed `prefix`; collective
    /// (every rank evaluates its share and gets the same result).
    func evaluate(model: BertModel, dataset: EncodedDataset, labels: [String], prefix: String, padTokenId: Int32) throws
        -> (ClassificationMetrics, Predictions, [String: Double]) {
        let predictions = try Predictions.compute(model: model, dataset: dataset, batchSize: configuration.perDeviceEvalBatchSize,
                                                  padTokenId: padTokenId, world: world)
        let metrics = try ClassificationMetrics.compute(labels: dataset.labels.map(Int.init), predictions: predictions.predictedClasses,
                                                        probabilities: predictions.probabilities, classNames: labels,
                                                        loss: predictions.loss)
        return (metrics, predictions, metrics.dictionary(prefix: prefix))
    }

    /// Misclassified examples, one JSON object per line: text (and pair), true and predicted
    /// label, the probability of every label, and where the example came from.
    func writeErrors(predictions: Predictions, dataset: EncodedDataset, labels: [String], to url: URL) throws {
        var lines = Data()
        for (i, predicted) in predictions.predictedClasses.enumerated() where predicted != Int(dataset.labels[i]) {
            var record: [String: Any] = [
                "text": dataset.texts[i], "label": labels[Int(dataset.labels[i])], "predicted": labels[predicted],
                "probabilities": Dictionary(uniqueKeysWithValues: labels.enumerated().map {
                    ($0.element, Double(predictions.probabilities[i * labels.count + $0.offset]))
                }),
            ]
            if let pair = dataset.pairs[i] { record["text_pair"] = pair }
            if !dataset.sources.isEmpty { record["source"] = dataset.sources[i] }
            lines.append(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]))
            lines.append(0x0A)
        }
        try lines.write(to: url, options: .atomic)
    }

    /// Each split as JSON lines: `text`, `text_pair` (when used), `label`, `source`.
    func writeSplits(_ data: PreparedData, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, examples) in [("train", data.train), ("validation", data.validation), ("test", data.test)] {
            var lines = Data()
            for example in examples {
                var record: [String: Any] = ["text": example.text, "label": data.labelSet.label(for: example.labelId),
                                             "source": example.location.description]
                if let pair = example.textPair { record["text_pair"] = pair }
                lines.append(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]))
                lines.append(0x0A)
            }
            try lines.write(to: directory.appendingPathComponent("\(name).jsonl"), options: .atomic)
        }
    }

    func writeJSON(_ values: [String: Double], to url: URL) throws {
        try JSONSerialization.data(withJSONObject: values, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
    }
}

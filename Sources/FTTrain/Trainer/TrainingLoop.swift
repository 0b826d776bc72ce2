import FTCore
import Foundation

/// `fttrain train`'s loop: the plan's steps over `EpochBatches`, and what happens at each step
/// boundary and epoch end — the loss shared over ranks, logging, evaluation (best model, early
/// stopping), checkpoints and stop requests. Its whole state between steps is the
/// `TrainingProgress` it is handed.
final class TrainingLoop {
    private let run: TrainingRun
    private let plan: TrainingPlan
    private let stepper: ClassificationStep
    private let batches: EpochBatches
    /// The task: its validation split, metrics and labels.
    private let task: any FineTuningTask
    private let log: TrainingLog
    private let output: URL
    private let baseModel: URL
    private let checkpoints: CheckpointWriter
    /// `metric_for_best_model` as evaluation keys it (`eval_…`).
    private let bestKey: String
    /// The step of the newest checkpoint (written or resumed from): never written twice.
    private var lastSaved: Int
    /// The run's lineage record before the first step (rank 0 only): each checkpoint gets a copy
    /// with its step, so a resumed run can name it as its parent.
    var lineage: LineageRecord?
    /// When the previous step's boundary work ended (µs, `Tracer.now()`): the next step's data
    /// span starts there.
    private var lastStepEnded = Tracer.now()
    /// Evaluations run during training so far (`TrainingRun.evaluationObserver` numbers them).
    private var evaluations = 0

    init(
        run: TrainingRun, plan: TrainingPlan, stepper: ClassificationStep, batches: EpochBatches, task: any FineTuningTask,
        log: TrainingLog, output: URL, baseModel: URL, resumedAt: Int?
    ) {
        self.run = run
        self.plan = plan
        self.stepper = stepper
        self.batches = batches
        self.task = task
        self.log = log
        self.output = output
        self.baseModel = baseModel
        let c = run.configuration
        checkpoints = CheckpointWriter(output: output, world: run.world, totalLimit: c.saveTotalLimit)
        bestKey = c.resolvedMetricForBestModel.hasPrefix("eval_") ? c.resolvedMetricForBestModel : "eval_" + c.resolvedMetricForBestModel
        lastSaved = resumedAt ?? -1
    }

    /// Trains until the plan's last step or early stopping.
    /// - Throws: `TrainingInterrupted` after the checkpoint of the step at which a stop was requested.
    func train(_ progress: inout TrainingProgress) throws {
        let c = run.configuration
        training: while progress.step < plan.totalSteps {
            for update in batches.updates(epoch: progress.epoch, from: progress.updateInEpoch) {
                try step(update, &progress)
                if progress.step >= plan.totalSteps || progress.bestModel.shouldStop { break }
            }
            // As in Hugging Face's Trainer, the epoch's end (its evaluation and checkpoint) also comes
            // when the last step or early stopping ends training: the last epoch is evaluated, so
            // `load_best_model_at_end` can pick it, and `save_strategy: epoch` saves it.
            progress.endEpoch()
            let newBest = c.evalStrategy == .epoch ? try evaluate(&progress) : false
            if (c.saveStrategy == .best && newBest) || c.saveStrategy == .epoch { try save(&progress) }
            if progress.bestModel.shouldStop { break training }
        }
        if progress.bestModel.shouldStop {
            log.message(
                "early stopping: \(progress.bestModel.patienceCounter) evaluations without improving \(bestKey) by more than \(c.earlyStoppingThreshold)"
            )
        }
    }

    /// With `load_best_model_at_end`, the best evaluation's parameters back into the model.
    func restoreBestModel(_ progress: TrainingProgress) {
        let store = stepper.model.store
        guard let best = progress.bestModel.best, run.configuration.loadBestModelAtEnd, best.parameters.count == store.count else { return }
        best.parameters.withUnsafeBufferPointer { store.values.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        log.message("restored the best model: step \(best.step), \(bestKey) \(best.value)")
    }

    /// One optimizer step and its boundary: log, evaluate, save, stop.
    private func step(_ update: EpochBatches.Update, _ progress: inout TrainingProgress) throws {
        let c = run.configuration, world = run.world, ranks = plan.ranks
        let tracer = Tracer.current
        let stepStart = Tracer.now()
        tracer?.complete("data", category: "data", since: lastStepEnded, until: stepStart, arguments: ["step": Double(progress.step + 1)])
        let result = try progress.advance(through: update, stepper: stepper)
        let step = progress.step
        tracer?.complete("step \(step)", category: "step", since: stepStart, arguments: ["step": Double(step), "samples": Double(update.samples)])
        defer { lastStepEnded = Tracer.now() }
        if ranks > 1, c.ddpParameterCheckSteps > 0, step % c.ddpParameterCheckSteps == 0 {
            try world.checkSame(ParameterChecksum.of(stepper.model.store.values), what: "the parameters after step \(step)")
        }
        let (loss, stopSignal) = try shareLossAndStop(result.loss)
        progress.account(loss: loss, samples: update.samples * ranks, synchronizationSeconds: result.synchronizationSeconds)
        logStep(result, &progress)
        var newBest = false
        if c.evalStrategy == .steps, step % c.resolvedEvalSteps == 0 { newBest = try evaluate(&progress) }
        let saveNow =
            (c.saveStrategy == .steps && (step % c.saveSteps == 0 || step == plan.totalSteps))
            || (c.saveStrategy == .best && newBest)
        if saveNow || stopSignal != nil { try save(&progress) }
        try run.stepObserver?(step)
        if let stopSignal {
            throw TrainingInterrupted(
                signal: stopSignal, step: step,
                checkpoint: output.appendingPathComponent(CheckpointDirectory.name(step: step)).path)
        }
    }

    /// The logged loss is the mean over ranks (each rank's is over its own micro-batches); the
    /// same all-reduce tells every rank whether any was asked to stop.
    private func shareLossAndStop(_ loss: Float) throws -> (loss: Float, stop: Int32?) {
        let localStop = run.stopRequested()
        guard plan.ranks > 1 else { return (loss, localStop) }
        var shared: [Float] = [loss, localStop == nil ? 0 : 1]
        try run.world.averageInPlace(&shared, count: 2)
        return (shared[0], shared[1] > 0 ? localStop ?? SIGTERM : nil)
    }

    /// The progress line, and every `logging_steps` (and at the last step) a `log.jsonl` record of
    /// the window, which then starts over.
    private func logStep(_ result: ClassificationStep.Result, _ progress: inout TrainingProgress) {
        let step = progress.step, epoch = progress.epochProgress(updatesPerEpoch: plan.updatesPerEpoch)
        let window = progress.window, seconds = window.seconds
        log.progress(
            step: step, totalSteps: plan.totalSteps, epoch: epoch, loss: window.meanLoss,
            samplesPerSecond: Double(window.samples) / max(seconds, 1e-9))
        let every = run.configuration.loggingSteps  // 0: no step records but the last
        guard (every > 0 && step % every == 0) || step == plan.totalSteps else { return }
        var record: [String: Any] = [
            "step": step, "epoch": epoch, "loss": window.meanLoss,
            "learning_rate": result.learningRate, "grad_norm": Double(result.gradientNorm),
            "samples_per_second": Double(window.samples) / max(seconds, 1e-9),
        ]
        if plan.ranks > 1 {
            // Share of the window rank 0 spent in the gradient all-reduce, waits for slower ranks included.
            record["allreduce_fraction"] = window.synchronization / max(seconds, 1e-9)
        }
        log.record(record)
        progress.window = .init()
    }

    /// Evaluates on the validation split (every rank its share); returns whether the metric is a new best.
    private func evaluate(_ progress: inout TrainingProgress) throws -> Bool {
        guard task.validation.count > 0 else { return false }
        let values = try Tracer.current.span("evaluation", category: "eval", arguments: ["step": Double(progress.step)]) {
            try task.evaluate(
                model: stepper.model, dataset: task.validation, prefix: "eval_",
                batchSize: run.configuration.perDeviceEvalBatchSize, world: run.world
            ).metrics
        }
        lastStepEnded = Tracer.now()
        let step = progress.step
        var record: [String: Any] = values
        record["step"] = step
        record["epoch"] = progress.epochProgress(updatesPerEpoch: plan.updatesPerEpoch)
        log.record(record)
        log.message(
            "eval at step \(step): "
                + values.keys.sorted().filter { !$0.hasPrefix("eval_f1_") }
                .map { "\($0) \(String(format: "%.4f", values[$0]!))" }.joined(separator: ", "))
        evaluations += 1
        try run.evaluationObserver?(evaluations, step, values)
        guard let value = values[bestKey] else { return false }
        let store = stepper.model.store
        return progress.bestModel.record(value, step: step) { Array(store.values) }
    }

    /// Collective: the checkpoint of the current step (once), made of `progress`.
    private func save(_ progress: inout TrainingProgress) throws {
        let step = progress.step, name = CheckpointDirectory.name(step: step)
        guard lastSaved != step else { return }
        progress.bestModel.saved(name, step: step)
        let c = run.configuration, model = stepper.model
        let states = progress.checkpoint(
            plan: plan, rank: run.world.rank, seed: c.seed, parameterCount: model.store.count,
            logHistory: TrainingLog.records(log.history))
        var checkpointLineage = lineage
        checkpointLineage?.created = Date()
        checkpointLineage?.step = step
        let checkpointStart = Tracer.now()
        defer {
            Tracer.current?.complete("checkpoint", category: "checkpoint", since: checkpointStart, arguments: ["step": Double(step)])
            lastStepEnded = Tracer.now()
        }
        let written = try checkpoints.save(
            CheckpointContents(
                model: model, labels: task.labels, baseModelDirectory: baseModel, optimizer: stepper.optimizer, schedule: plan.schedule,
                trainerState: states.trainer, rankState: states.rank, logHistory: log.history,
                // The best model travels with the checkpoint when no checkpoint of its step holds it.
                bestParameters: progress.bestModel.parametersWithoutCheckpoint, lineage: try checkpointLineage?.finalize()))
        lastSaved = step
        log.message(
            "checkpoint written: \(written.directory.path)"
                + (written.removed.isEmpty ? "" : "; removed \(written.removed.map(\.lastPathComponent).joined(separator: ", "))"))
    }
}

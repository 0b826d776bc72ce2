import FTCore
import Foundation

/// Where a training run stands between two steps: everything that changes as it trains (steps
/// done, the data cursor, loss accumulators, the logging window, best model and patience, the
/// dropout stream) and nothing that does not. It is the checkpoint's payload: `checkpoint(…)`
/// makes `trainer_state.json` and `rng_state_<rank>.json` of it, `init(restoring:…)` reads them
/// back, so a resumed run continues from the very value the stopped one saved.
public struct TrainingProgress {
    /// Optimizer steps done.
    public private(set) var step = 0
    /// The epoch in progress (its permutation is derived from it) and the steps done in it: where
    /// the next step starts.
    public private(set) var epoch = 0
    public private(set) var updateInEpoch = 0
    /// Σ loss × samples and samples over every step, for the final `train_loss`.
    public private(set) var trainLossSum = 0.0
    public private(set) var trainSamples = 0
    /// The steps since the last `log.jsonl` training record.
    public var window = LoggingWindow()
    /// Best evaluation and early-stopping patience.
    public var bestModel: BestModelTracker
    /// This rank's dropout stream: one draw seeds each step's masks.
    public private(set) var dropout: SeededRNG

    /// The steps not yet written to `log.jsonl`: their mean loss and throughput make the next record.
    public struct LoggingWindow {
        /// Σ of the steps' (rank-averaged) losses.
        public var loss = 0.0
        public var steps = 0
        /// Examples over all ranks.
        public var samples = 0
        public var started = Date()
        /// Seconds spent in the gradient all-reduce (waits for slower ranks included).
        public var synchronization = 0.0

        public init() {}
        public var meanLoss: Double { loss / Double(steps) }
        public var seconds: Double { Date().timeIntervalSince(started) }
    }

    /// A run at its start.
    public init(dropout: SeededRNG, bestModel: BestModelTracker = BestModelTracker()) {
        self.dropout = dropout
        self.bestModel = bestModel
    }

    /// The data cursor: the next step's epoch and step within it.
    public var cursor: TrainerState.DataCursor { .init(epoch: epoch, updateInEpoch: updateInEpoch) }

    /// Fractional epochs done, as logged (HF `epoch`).
    public func epochProgress(updatesPerEpoch: Int) -> Double {
        Double(epoch) + Double(updateInEpoch) / Double(updatesPerEpoch)
    }

    /// The step driver: one optimizer step over `update`'s micro-batches, its dropout seeded by
    /// this rank's stream.
    public mutating func advance(through update: EpochBatches.Update, stepper: ClassificationStep) throws -> ClassificationStep.Result {
        let result = try stepper.step(update.microBatches, dropoutSeed: dropout.next())
        step += 1
        updateInEpoch = update.index + 1
        return result
    }

    /// The epoch is over: the next step starts the following one.
    public mutating func endEpoch() {
        epoch += 1
        updateInEpoch = 0
    }

    /// Adds a step's loss (the mean over ranks) and examples (over all ranks) to the window and the totals.
    public mutating func account(loss: Float, samples: Int, synchronizationSeconds: Double) {
        window.loss += Double(loss)
        window.synchronization += synchronizationSeconds
        window.steps += 1
        window.samples += samples
        trainLossSum += Double(loss) * Double(samples)
        trainSamples += samples
    }

    // MARK: - The checkpoint's payload

    /// This progress as a checkpoint's `trainer_state.json` (with the shape of the run, so a
    /// resume can check it continues the same one) and this rank's `rng_state_<rank>.json`.
    public func checkpoint(
        plan: TrainingPlan, rank: Int, seed: Int, parameterCount: Int, logHistory: [[String: Double]]
    )
        -> (trainer: TrainerState, rank: RankState)
    {
        let trainer = TrainerState(
            globalStep: step, epoch: epochProgress(updatesPerEpoch: plan.updatesPerEpoch), maxSteps: plan.totalSteps, cursor: cursor,
            bestMetric: bestModel.best?.value, bestGlobalStep: bestModel.best?.step, bestModelCheckpoint: bestModel.checkpoint,
            earlyStoppingPatienceCounter: bestModel.patienceCounter, logHistory: logHistory,
            trainLossSum: trainLossSum, trainSamples: trainSamples,
            windowLoss: window.loss, windowSteps: window.steps, windowSamples: window.samples,
            worldSize: plan.ranks, perDeviceTrainBatchSize: plan.batchSize, gradientAccumulationSteps: plan.accumulation,
            seed: seed, trainExamples: plan.trainExamples, parameterCount: parameterCount)
        return (trainer, RankState(rank: rank, worldSize: plan.ranks, globalStep: step, dropoutGenerator: dropout, cursor: cursor))
    }

    /// The progress `checkpoint(…)` saved.
    /// - Parameters:
    ///   - rank: this rank's saved state; nil when the checkpoint came from another number of
    ///     ranks: the dropout stream is then `freshDropout` where such a run would have it (one
    ///     draw per step).
    ///   - rules: the best-model tracker's settings (its state comes from `trainer`).
    ///   - bestParameters: the best model's parameters, read when `rules` keeps them.
    public init(
        restoring trainer: TrainerState, rank: RankState?, freshDropout: SeededRNG, rules: BestModelTracker,
        bestParameters: () throws -> [Float]
    ) rethrows {
        step = trainer.globalStep
        (epoch, updateInEpoch) = (trainer.cursor.epoch, trainer.cursor.updateInEpoch)
        (trainLossSum, trainSamples) = (trainer.trainLossSum, trainer.trainSamples)
        (window.loss, window.steps, window.samples) = (trainer.windowLoss, trainer.windowSteps, trainer.windowSamples)
        var restoredBest: BestModelTracker.Best?
        if let value = trainer.bestMetric, let bestStep = trainer.bestGlobalStep {
            restoredBest = .init(value: value, step: bestStep, parameters: rules.keepsParameters ? try bestParameters() : [])
        }
        bestModel = BestModelTracker(
            restoring: rules, best: restoredBest, checkpoint: trainer.bestModelCheckpoint,
            patienceCounter: trainer.earlyStoppingPatienceCounter)
        if let generator = rank?.generator {
            dropout = generator
        } else {
            dropout = freshDropout
            for _ in 0..<step { _ = dropout.next() }
        }
    }
}

import FTModel

/// The shape of a training run, fixed before the first step: batches, ranks, steps per epoch,
/// total steps and the learning-rate schedule. Computed in one place from the configuration, the
/// data set's size and the world (and, on resume, the checkpoint), counting steps as Hugging Face's
/// Trainer does over this rank's shard (`DistributedSampler`: ceil(n / ranks) examples per rank,
/// the permutation padded by repeating its start; with `dropLast`, floor and the tail left out).
public struct TrainingPlan: Equatable, CustomStringConvertible {
    /// Examples per micro-batch on each rank (`per_device_train_batch_size`).
    public let batchSize: Int
    /// Micro-batches per optimizer step on each rank (`gradient_accumulation_steps`, or what keeps
    /// a resumed checkpoint's global batch).
    public let accumulation: Int
    /// Ranks training together.
    public let ranks: Int
    /// Training examples in the data set (every rank's, before sharding).
    public let trainExamples: Int
    /// `dataloader_drop_last`: the sampler drops the tail past the last multiple of the ranks,
    /// the loader the last incomplete micro-batch.
    public let dropLast: Bool
    /// Examples of each rank per epoch.
    public let shardSize: Int
    /// Micro-batches of each rank per epoch.
    public let microBatchesPerEpoch: Int
    /// Optimizer steps per epoch (the last may hold fewer than `accumulation` micro-batches).
    public let updatesPerEpoch: Int
    /// Optimizer steps of the whole run: the schedule ends there.
    public private(set) var totalSteps: Int
    /// The learning rate of every step (its warm-up steps included).
    public private(set) var schedule: LearningRateSchedule

    /// Examples per optimizer step over all ranks.
    public var globalBatchSize: Int { batchSize * ranks * accumulation }

    /// - Parameters:
    ///   - maxSteps: the total when > 0; else `epochs` × `updatesPerEpoch`, rounded up (and at
    ///     least `minimumSteps`).
    ///   - warmupSteps, warmupRatio: as `LearningRateSchedule.resolveWarmupSteps` reads them.
    /// - Throws: `ModelError.badInput` when `dropLast` leaves a rank less than one micro-batch.
    public init(
        batchSize: Int, accumulation: Int, ranks: Int, trainExamples: Int, dropLast: Bool,
        maxSteps: Int, epochs: Double, minimumSteps: Int = 0,
        scheduleType: SchedulerType, learningRate: Double, warmupSteps: Double = 0, warmupRatio: Double = 0
    ) throws {
        self.batchSize = batchSize
        self.accumulation = accumulation
        self.ranks = ranks
        self.trainExamples = trainExamples
        self.dropLast = dropLast
        shardSize = EpochOrder.shardSize(count: trainExamples, ranks: ranks, dropLast: dropLast)
        microBatchesPerEpoch = dropLast ? shardSize / batchSize : (shardSize + batchSize - 1) / batchSize
        guard microBatchesPerEpoch > 0 else {
            throw ModelError.badInput(
                "\(trainExamples) training examples over \(ranks) rank\(ranks == 1 ? "" : "s") give \(shardSize) per rank, "
                    + "fewer than one batch of \(batchSize) with dataloader_drop_last")
        }
        updatesPerEpoch = max((microBatchesPerEpoch + accumulation - 1) / accumulation, 1)
        totalSteps = maxSteps > 0 ? maxSteps : max(minimumSteps, Int((epochs * Double(updatesPerEpoch)).rounded(.up)))
        let warmup = LearningRateSchedule.resolveWarmupSteps(trainingSteps: totalSteps, warmupSteps: warmupSteps, warmupRatio: warmupRatio)
        schedule = LearningRateSchedule(type: scheduleType, baseLearningRate: learningRate, warmupSteps: warmup, trainingSteps: totalSteps)
    }

    /// The plan of `fttrain train`: the configuration's batches, epochs or steps and schedule.
    /// - Parameter accumulation: the configured `gradient_accumulation_steps` unless a resumed
    ///   checkpoint of another number of ranks needs another (`resumedAccumulation`).
    public init(configuration c: TrainingConfiguration, trainExamples: Int, ranks: Int, accumulation: Int? = nil) throws {
        try self.init(
            batchSize: c.perDeviceTrainBatchSize, accumulation: accumulation ?? c.gradientAccumulationSteps, ranks: ranks,
            trainExamples: trainExamples, dropLast: c.dataloaderDropLast, maxSteps: c.maxSteps, epochs: c.numTrainEpochs,
            scheduleType: c.lrSchedulerType, learningRate: c.learningRate,
            warmupSteps: Double(c.warmupSteps), warmupRatio: c.warmupRatio)
    }

    /// A federated site's local training in one round: FedAvg's local SGD at a constant
    /// `learning_rate`, one micro-batch per step (accumulation and `dataloader_drop_last` do not
    /// apply), at least one step.
    public static func localRound(configuration c: TrainingConfiguration, trainExamples: Int, ranks: Int) throws -> TrainingPlan {
        try TrainingPlan(
            batchSize: c.perDeviceTrainBatchSize, accumulation: 1, ranks: ranks, trainExamples: trainExamples,
            dropLast: false, maxSteps: c.maxSteps, epochs: c.numTrainEpochs, minimumSteps: 1,
            scheduleType: .constant, learningRate: c.learningRate)
    }

    /// The plan continued from a checkpoint: its schedule and total steps as its run defined them
    /// (another configuration must not bend the learning rate of a run half done); `note` tells
    /// when they differ from this plan's.
    public func continuing(_ scheduler: SchedulerState, totalSteps saved: Int, note: (String) -> Void) -> TrainingPlan {
        var plan = self
        if scheduler.schedule != schedule {
            note(
                "note: the schedule continues as saved (\(scheduler.trainingSteps) steps, \(scheduler.warmupSteps) warmup), "
                    + "not as this configuration would set it (\(totalSteps) steps, \(schedule.warmupSteps) warmup)")
        }
        plan.schedule = scheduler.schedule
        plan.totalSteps = saved
        return plan
    }

    /// The log's summary: "global batch: 4 per device × 2 ranks × 2 accumulation = 16; …".
    public var description: String {
        "global batch: \(batchSize) per device × \(ranks) rank\(ranks == 1 ? "" : "s") × \(accumulation) accumulation = \(globalBatchSize); "
            + "\(updatesPerEpoch) steps per epoch, \(totalSteps) steps, \(schedule.warmupSteps) warmup"
    }
}

import FTCore

/// The coordinator's part of a checkpoint, `trainer_state.json`: Hugging Face's fields (global
/// step, epoch, best metric and checkpoint, log history, the early-stopping counter) and what
/// fttrain needs to continue the run bit for bit (the data cursor, the loss accumulators, and the
/// shape of the run the checkpoint came from). Doubles go through `JSONEncoder`/`JSONDecoder`,
/// which round-trip them exactly.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps completed (HF `global_step`).
    public var globalStep: Int
    /// Fractional epochs completed, as logged (HF `epoch`).
    public var epoch: Double
    /// The run's total optimizer steps (HF `max_steps`): the schedule ends there.
    public var maxSteps: Int
    /// Where the next step starts: the epoch and the optimizer step within it.
    public var cursor: DataCursor
    /// The best `metric_for_best_model` so far (HF `best_metric`), its step and checkpoint.
    public var bestMetric: Double?
    public var bestGlobalStep: Int?
    /// The directory name (`checkpoint-N`) whose model is the best, when it was saved.
    public var bestModelCheckpoint: String?
    /// Evaluations in a row without enough improvement (HF `early_stopping_patience_counter`).
    public var earlyStoppingPatienceCounter: Int
    /// Every record of `log.jsonl` up to this step (HF `log_history`); informational: the exact
    /// lines are in `log_history.jsonl`.
    public var logHistory: [[String: Double]]
    /// Sum over steps of loss × samples, and samples, for the final `train_loss`.
    public var trainLossSum: Double
    public var trainSamples: Int
    /// The logging window not yet written (loss sum, steps, samples), so log lines match.
    public var windowLoss: Double
    public var windowSteps: Int
    public var windowSamples: Int
    /// The shape of the run that wrote the checkpoint.
    public var worldSize: Int
    public var perDeviceTrainBatchSize: Int
    public var gradientAccumulationSteps: Int
    public var seed: Int
    public var trainExamples: Int
    public var parameterCount: Int

    /// A position in the data: the epoch (its permutation is derived from (seed, epoch)) and the
    /// optimizer step within it. It does not depend on the number of ranks as long as the global
    /// batch is kept.
    public struct DataCursor: Codable, Sendable, Equatable {
        public var epoch: Int
        public var updateInEpoch: Int
        public init(epoch: Int, updateInEpoch: Int) {
            self.epoch = epoch
            self.updateInEpoch = updateInEpoch
        }
        enum CodingKeys: String, CodingKey {
            case epoch
            case updateInEpoch = "update_in_epoch"
        }
    }

    /// The global batch of the run that wrote the checkpoint.
    public var globalBatchSize: Int { perDeviceTrainBatchSize * worldSize * gradientAccumulationSteps }

    enum CodingKeys: String, CodingKey {
        case globalStep = "global_step", epoch, maxSteps = "max_steps", cursor = "data_cursor"
        case bestMetric = "best_metric", bestGlobalStep = "best_global_step", bestModelCheckpoint = "best_model_checkpoint"
        case earlyStoppingPatienceCounter = "early_stopping_patience_counter", logHistory = "log_history"
        case trainLossSum = "train_loss_sum", trainSamples = "train_samples"
        case windowLoss = "window_loss", windowSteps = "window_steps", windowSamples = "window_samples"
        case worldSize = "world_size", perDeviceTrainBatchSize = "per_device_train_batch_size"
        case gradientAccumulationSteps = "gradient_accumulation_steps", seed, trainExamples = "train_examples"
        case parameterCount = "parameter_count"
    }
}

/// One rank's part of a checkpoint, `rng_state_<rank>.json`: its dropout generator (the four
/// xoshiro256** words, as hex: JSON numbers lose bits past 2⁵³) and its data cursor.
public struct RankState: Codable, Sendable, Equatable {
    public var rank: Int
    public var worldSize: Int
    public var globalStep: Int
    public var dropoutGenerator: [String]
    public var cursor: TrainerState.DataCursor

    public init(rank: Int, worldSize: Int, globalStep: Int, dropoutGenerator: SeededRNG, cursor: TrainerState.DataCursor) {
        self.rank = rank
        self.worldSize = worldSize
        self.globalStep = globalStep
        let s = dropoutGenerator.state
        self.dropoutGenerator = [s.0, s.1, s.2, s.3].map { String($0, radix: 16) }
        self.cursor = cursor
    }

    /// The saved generator, or nil when the words do not parse.
    public var generator: SeededRNG? {
        let words = dropoutGenerator.compactMap { UInt64($0, radix: 16) }
        guard words.count == 4 else { return nil }
        return SeededRNG(state: (words[0], words[1], words[2], words[3]))
    }

    enum CodingKeys: String, CodingKey {
        case rank, worldSize = "world_size", globalStep = "global_step", dropoutGenerator = "dropout_generator"
        case cursor = "data_cursor"
    }
}

/// `scheduler.json`: the schedule's shape and position. The schedule is a function of the step,
/// so this is what it takes to continue it (HF saves `scheduler.pt` for the same reason).
public struct SchedulerState: Codable, Sendable, Equatable {
    public var type: SchedulerType
    public var baseLearningRate: Double
    public var warmupSteps: Int
    public var trainingSteps: Int
    public var lastStep: Int

    public init(_ schedule: LearningRateSchedule, lastStep: Int) {
        type = schedule.type
        baseLearningRate = schedule.baseLearningRate
        warmupSteps = schedule.warmupSteps
        trainingSteps = schedule.trainingSteps
        self.lastStep = lastStep
    }

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(type: type, baseLearningRate: baseLearningRate, warmupSteps: warmupSteps, trainingSteps: trainingSteps)
    }

    enum CodingKeys: String, CodingKey {
        case type, baseLearningRate = "base_learning_rate", warmupSteps = "warmup_steps"
        case trainingSteps = "training_steps", lastStep = "last_step"
    }
}

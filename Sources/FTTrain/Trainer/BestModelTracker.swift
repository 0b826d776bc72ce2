/// The best evaluation so far and early stopping, as Hugging Face's Trainer keeps them:
/// `best_metric`, its step and (for `load_best_model_at_end`) its parameters, the checkpoint that
/// holds it, and `EarlyStoppingCallback`'s patience counter.
public struct BestModelTracker {
    /// The best evaluation: the metric's value, the step and, when kept, the parameters then.
    public struct Best {
        public var value: Double
        public var step: Int
        /// The model's parameters at `step` (empty when they are not kept).
        public var parameters: [Float]
    }

    /// Whether a larger metric is better (`greater_is_better`).
    public let greaterIsBetter: Bool
    /// `early_stopping_threshold`: how much an evaluation must improve on the best to reset the patience.
    public let threshold: Double
    /// `early_stopping_patience`; nil: never stop early.
    public let patience: Int?
    /// `load_best_model_at_end`: the best parameters are kept (and saved with checkpoints).
    public let keepsParameters: Bool

    /// The best evaluation so far (HF `best_metric`, `best_global_step`); nil before the first.
    public private(set) var best: Best?
    /// The checkpoint directory name (`checkpoint-N`) holding the best model, once one was saved at its step.
    public private(set) var checkpoint: String?
    /// Evaluations in a row without enough improvement.
    public private(set) var patienceCounter = 0

    public init(greaterIsBetter: Bool = true, threshold: Double = 0, patience: Int? = nil, keepsParameters: Bool = false) {
        self.greaterIsBetter = greaterIsBetter
        self.threshold = threshold
        self.patience = patience
        self.keepsParameters = keepsParameters
    }

    /// The tracker of `metric_for_best_model` with the configuration's rules.
    public init(configuration c: TrainingConfiguration) {
        self.init(
            greaterIsBetter: c.resolvedGreaterIsBetter, threshold: c.earlyStoppingThreshold,
            patience: c.earlyStoppingPatience, keepsParameters: c.loadBestModelAtEnd)
    }

    /// A tracker as a checkpoint left it (`parameters`: the best model's, when kept).
    public init(restoring rules: BestModelTracker, best: Best?, checkpoint: String?, patienceCounter: Int) {
        self = rules
        self.best = best
        self.checkpoint = checkpoint
        self.patienceCounter = patienceCounter
    }

    /// Whether the patience has run out.
    public var shouldStop: Bool { patience.map { patienceCounter >= $0 } ?? false }

    /// Records an evaluation at `step`; returns whether it is a new best (`parameters` are then
    /// read, when kept).
    public mutating func record(_ value: Double, step: Int, parameters: () -> [Float]) -> Bool {
        // Hugging Face's EarlyStoppingCallback: against the best before this evaluation.
        if let previous = best?.value, !((greaterIsBetter ? value > previous : value < previous) && abs(value - previous) > threshold) {
            patienceCounter += 1
        } else {
            patienceCounter = 0
        }
        let better = best.map { greaterIsBetter ? value > $0.value : value < $0.value } ?? true
        if better {
            best = Best(value: value, step: step, parameters: keepsParameters ? parameters() : [])
            checkpoint = nil
        }
        return better
    }

    /// A checkpoint `name` was saved at `step`: it holds the best model when that is the best's step.
    public mutating func saved(_ name: String, step: Int) {
        if let best, best.step == step { checkpoint = name }
    }

    /// The best parameters when they must travel with a checkpoint: kept, and no saved checkpoint
    /// of their step holds them.
    public var parametersWithoutCheckpoint: [Float]? {
        keepsParameters && best != nil && checkpoint == nil ? best!.parameters : nil
    }
}

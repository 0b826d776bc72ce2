#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The learning rate of every optimizer step, with Hugging Face's exact semantics
/// (`transformers.get_scheduler`, a `torch.optim.lr_scheduler.LambdaLR` over a multiplier).
///
/// **Step numbering (the off-by-one).** `learningRate(atStep: k)` is the rate that optimizer
/// step `k` uses, `k = 0, 1, 2, …` counting completed steps before it (`AdamW.stepCount`).
/// That is `base · λ(k)`: LambdaLR sets `lr = base · λ(0)` on construction, the Trainer calls
/// `optimizer.step()` then `scheduler.step()`, so step `k` runs with `λ(k)` — and HF logs that
/// same value as `learning_rate` for global step `k + 1`. Consequences: with warmup `W > 0` the
/// very first step has rate 0 (`λ(0) = 0`) and the peak is first used at step `k = W`; linear
/// and cosine reach 0 at `k = N` (`trainingSteps`), one past the last step a run of `N` steps
/// takes, so its last step `k = N − 1` still moves at `base · 1/(N − W)` (linear).
///
/// Multipliers (`optimization.py`), all in Double as Python computes them:
/// - `constant`: 1 (warmup is ignored, as `get_scheduler` ignores it).
/// - `constant_with_warmup`: `k / max(1, W)` for `k < W`, then 1.
/// - `linear`: `k / max(1, W)` for `k < W`, then `max(0, (N − k) / max(1, N − W))`.
/// - `cosine`: `k / max(1, W)` for `k < W`, then with `q = (k − W) / max(1, N − W)`:
///   `max(0, 0.5 · (1 + cos(π · c · 2 · q)))`, `c = numCycles` (0.5: a half cosine to 0).
///   Like HF it is not clamped past `N` (the cosine rises again after `k = N`).
///
/// The schedule holds no state: its position is the optimizer's step count, so a checkpoint of
/// the optimizer is a checkpoint of the schedule.
public struct LearningRateSchedule: Sendable, Hashable {
    /// Which shape (Hugging Face's `lr_scheduler_type`).
    public let type: SchedulerType
    /// The peak rate (`learning_rate`), the optimizer's `initial_lr`.
    public let baseLearningRate: Double
    /// W: steps of linear warmup from 0 (ignored by `constant`).
    public let warmupSteps: Int
    /// N: the total number of optimizer steps of the run (`max_steps`), where linear and
    /// cosine reach 0.
    public let trainingSteps: Int
    /// c: cosine periods over the decay (HF `num_cycles`, 0.5 = half a period).
    public let numCycles: Double

    /// - Precondition: `warmupSteps ≥ 0`, `trainingSteps ≥ 0`, `baseLearningRate` finite.
    public init(
        type: SchedulerType, baseLearningRate: Double, warmupSteps: Int = 0, trainingSteps: Int,
        numCycles: Double = 0.5
    ) {
        precondition(warmupSteps >= 0 && trainingSteps >= 0, "warmup and training steps must be >= 0")
        precondition(baseLearningRate.isFinite, "learning rate must be finite")
        self.type = type
        self.baseLearningRate = baseLearningRate
        self.warmupSteps = warmupSteps
        self.trainingSteps = trainingSteps
        self.numCycles = numCycles
    }

    /// λ(k), the multiplier of the base rate at optimizer step `k` (0-based).
    public func multiplier(atStep k: Int) -> Double {
        let W = warmupSteps, N = trainingSteps
        switch type {
        case .constant:
            return 1
        case .constantWithWarmup:
            if k < W { return Double(k) / Double(max(1, W)) }
            return 1
        case .linear:
            if k < W { return Double(k) / Double(max(1, W)) }
            return max(0, Double(N - k) / Double(max(1, N - W)))
        case .cosine:
            if k < W { return Double(k) / Double(max(1, W)) }
            let progress = Double(k - W) / Double(max(1, N - W))
            // Same operation order as Python's `math.pi * float(num_cycles) * 2.0 * progress`.
            return max(0, 0.5 * (1 + cos(Double.pi * numCycles * 2 * progress)))
        }
    }

    /// The learning rate optimizer step `k` (0-based, `AdamW.stepCount` before it) uses:
    /// `baseLearningRate · λ(k)`, LambdaLR's product.
    public func learningRate(atStep k: Int) -> Double {
        baseLearningRate * multiplier(atStep: k)
    }

    /// The warmup length from `warmup_steps` / `warmup_ratio`, covering both transformers
    /// generations:
    /// - `warmupSteps ≥ 1`: that many steps (`int(warmup_steps)`: 5.x truncates a float count);
    /// - `0 < warmupSteps < 1`: a ratio, `ceil(N · warmupSteps)` (transformers 5.x folded
    ///   `warmup_ratio` into fractional `warmup_steps`);
    /// - `warmupSteps = 0`: `ceil(N · warmupRatio)` (transformers 4.x `get_warmup_steps`:
    ///   `warmup_steps if warmup_steps > 0 else math.ceil(num_training_steps * warmup_ratio)`).
    /// The product is a Double, as in Python, so `ceil` sees the same rounding.
    /// - Precondition: both are ≥ 0 and `warmupRatio ≤ 1`.
    public static func resolveWarmupSteps(trainingSteps: Int, warmupSteps: Double = 0, warmupRatio: Double = 0) -> Int {
        precondition(warmupSteps >= 0 && (0...1).contains(warmupRatio), "warmup_steps must be >= 0 and warmup_ratio in [0, 1]")
        if warmupSteps >= 1 { return Int(warmupSteps) }
        if warmupSteps > 0 { return Int(ceil(Double(trainingSteps) * warmupSteps)) }
        return Int(ceil(Double(trainingSteps) * warmupRatio))
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import FTCore

/// AdamW over one flat parameter buffer, exactly as `torch.optim.AdamW` computes it in float32
/// (Loshchilov & Hutter, decoupled weight decay), with a per-element weight-decay mask.
///
/// One step at learning rate `lr` (a Double, as PyTorch's Python floats), for step `t` = 1, 2, …:
///
///     p ← p · (1 − lr·λ)                                   only where the mask decays
///     m ← lerp(m, g, 1 − β1)  = m + (1 − β1)(g − m)         exp_avg.lerp_(grad, 1 − β1)
///     v ← β2·v + (1 − β2)·g·g                               exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2)
///     denom ← √v / √(1 − β2ᵗ) + ε
///     p ← p + (−lr / (1 − β1ᵗ)) · m / denom                 p.addcdiv_(m, denom, value=−step_size)
///
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html and
/// `torch/optim/adam.py` `_single_tensor_adam` (what `foreach=False` runs).
///
/// Float32 contract, operation by operation as PyTorch's CPU kernels do it: the scalars
/// (`1 − lr·λ`, `1 − β1`, `β2`, `1 − β2`, `√(1 − β2ᵗ)`, `ε`, `−lr/(1 − β1ᵗ)`) are formed in Double
/// and rounded to Float once; the lerp and the `addcmul` are fused multiply-adds (ATen's
/// `lerp_vec` uses `fmadd`, and its `addcmul` kernel is contracted to one); the square root is
/// IEEE's. Measured against torch 2.15 on x86-64 (`Tests/FTTrainTests/OptimAdamWTests.swift`):
/// m and v are bitwise those of `foreach=False`, and p differs only through torch's float32
/// `sqrt`, which comes from MKL and is one ulp off for ~17% of inputs (|Δp| ≤ ulp(p) + 1e-8).
/// Hugging Face's default `adamw_torch_fused` runs the same formula in its vector body; its
/// scalar tail rounds v differently (1 ulp).
///
/// The state is the step count and the two moment buffers (`exp_avg`, `exp_avg_sq`), exposed
/// for checkpoints: `stepCount`, `firstMoment`, `secondMoment`, `loadState`.
/// The element loop itself is `AdamWKernel.update` (FTKernels, built without checks); this class
/// keeps the state, the validation and the split into runs and segments, all checked.
/// Not thread-safe: one owner steps it (the buffers are shared only with `Parallel` slices
/// inside `step`, which touch disjoint elements, so results do not depend on the thread count).
public final class AdamW: @unchecked Sendable {
    /// Number of elements of the parameter buffer this optimizer steps.
    public let parameterCount: Int
    /// β1, the decay of the first moment (torch `betas[0]`).
    public let beta1: Double
    /// β2, the decay of the second moment (torch `betas[1]`).
    public let beta2: Double
    /// ε, added to the bias-corrected `√v` (torch `eps`).
    public let epsilon: Double
    /// λ, the decoupled weight decay (torch `weight_decay`), applied only inside `decayRanges`.
    public let weightDecay: Double
    /// The element ranges that decay: sorted, disjoint, adjacent ranges merged.
    public let decayRanges: [Range<Int>]
    /// `decayRanges` and the gaps between them, covering `0 ..< parameterCount` in order.
    private let segments: [(range: Range<Int>, decays: Bool)]
    /// For an optimizer over a store: where each stretch of the gradient buffer (and of the
    /// moments) lives in the value buffer (`ParameterStore.trainableRuns`).
    private var storeRuns: [(valueOffset: Int, gradientOffset: Int, count: Int)]?

    /// m, the first moment (torch `state["exp_avg"]`), `(parameterCount)`, zero at start.
    public let firstMoment: UnsafeMutableBufferPointer<Float>
    /// v, the second moment (torch `state["exp_avg_sq"]`), `(parameterCount)`, zero at start.
    public let secondMoment: UnsafeMutableBufferPointer<Float>
    /// Completed steps (torch `state["step"]`): the next step uses bias corrections for
    /// `t = stepCount + 1`. It is also the schedule position (`LearningRateSchedule`).
    public private(set) var stepCount = 0

    /// An optimizer for `parameterCount` elements with zero moments.
    /// - Parameters:
    ///   - decayRanges: element ranges that weight decay applies to, in any order; overlaps are
    ///     merged. Elements outside them are never decayed (biases and layer norms, by
    ///     `WeightDecayMask.huggingFace`).
    /// - Precondition: every range lies in `0 ..< parameterCount`; 0 ≤ β1, β2 < 1; ε ≥ 0; λ ≥ 0.
    public init(
        parameterCount: Int, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0, decayRanges: [Range<Int>]
    ) {
        precondition(parameterCount >= 0)
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "betas must be in [0, 1)")
        precondition(epsilon >= 0 && weightDecay >= 0, "eps and weight_decay must be >= 0")
        for r in decayRanges {
            precondition(
                r.lowerBound >= 0 && r.upperBound <= parameterCount,
                "decay range \(r) outside the buffer of \(parameterCount) elements")
        }
        self.parameterCount = parameterCount
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        let merged = WeightDecayMask.merge(decayRanges)
        self.decayRanges = merged
        var segments: [(range: Range<Int>, decays: Bool)] = []
        var position = 0
        for r in merged {
            if r.lowerBound > position { segments.append((position..<r.lowerBound, false)) }
            segments.append((r, true))
            position = r.upperBound
        }
        if position < parameterCount { segments.append((position..<parameterCount, false)) }
        self.segments = segments
        firstMoment = .allocate(capacity: parameterCount)
        firstMoment.initialize(repeating: 0)
        secondMoment = .allocate(capacity: parameterCount)
        secondMoment.initialize(repeating: 0)
    }

    /// An optimizer for the trainable tensors of `store` (all of it unless some are frozen),
    /// decaying exactly the elements of `decaying` views (for Hugging Face's groups:
    /// `WeightDecayMask.huggingFace(store)`). Its moments cover the packed gradient buffer only:
    /// frozen tensors have no optimizer state. Call it after `store.setTrainable`.
    public convenience init(
        store: ParameterStore, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, weightDecay: Double = 0, decaying: [TensorView]
    ) {
        self.init(
            parameterCount: store.trainableCount, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, decayRanges: decaying.compactMap { store.view($0.name).gradientRange })
        storeRuns = store.trainableRuns
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
    }

    /// One AdamW step over the whole buffer at `learningRate` (the scheduled rate of this step),
    /// updating `parameters` and the moments in place and incrementing `stepCount`.
    /// `gradients` are read only (clip them first). Allocates nothing.
    /// - Precondition: both buffers hold `parameterCount` elements; `learningRate` is finite.
    public func step(
        parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
        learningRate lr: Double
    ) {
        precondition(
            parameters.count == parameterCount && gradients.count == parameterCount,
            "AdamW over \(parameterCount) elements was given buffers of \(parameters.count) and \(gradients.count)")
        step(
            parameters: parameters.baseAddress, gradients: gradients.baseAddress,
            runs: [(0, 0, parameterCount)], learningRate: lr)
    }

    /// `step` over the trainable tensors of a `ParameterStore`: its packed gradient buffer against
    /// the values it belongs to; frozen values are not touched.
    /// - Precondition: the store's trainable set is the one the optimizer was built for.
    public func step(_ store: ParameterStore, learningRate: Double) {
        precondition(
            store.trainableCount == parameterCount,
            "AdamW over \(parameterCount) elements was given a store with \(store.trainableCount) trainable")
        let runs = storeRuns ?? store.trainableRuns
        step(
            parameters: store.values.baseAddress, gradients: UnsafePointer(store.gradients.baseAddress),
            runs: runs, learningRate: learningRate)
    }

    /// The step itself: element `i` of the gradient (and moment) index space, inside run
    /// `(valueOffset, gradientOffset, count)`, updates value `valueOffset + i − gradientOffset`.
    private func step(
        parameters: UnsafeMutablePointer<Float>?, gradients: UnsafePointer<Float>?,
        runs: [(valueOffset: Int, gradientOffset: Int, count: Int)], learningRate lr: Double
    ) {
        precondition(lr.isFinite, "learning rate \(lr) is not finite")
        stepCount += 1
        let t = Double(stepCount)
        // Scalars exactly as torch forms them (Python floats, then one rounding to float32).
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let scalars = AdamWKernel.Scalars(
            decayFactor: Float(1 - lr * weightDecay),
            lerpWeight: Float(1 - beta1),
            beta2: Float(beta2),
            oneMinusBeta2: Float(1 - beta2),
            biasCorrection2Sqrt: Float(biasCorrection2.squareRoot()),
            epsilon: Float(epsilon),
            negativeStepSize: Float(-(lr / biasCorrection1)))
        guard parameterCount > 0, let p = parameters, let g = gradients else { return }
        let m = firstMoment.baseAddress!, v = secondMoment.baseAddress!
        let segments = self.segments
        let decays = weightDecay != 0  // torch skips the multiply entirely when λ = 0
        // Element-wise, so any split across threads gives the same bits.
        Parallel.forEachSlice(of: parameterCount) { slice in
            for run in runs {
                let runLow = max(slice.lowerBound, run.gradientOffset)
                let runHigh = min(slice.upperBound, run.gradientOffset + run.count)
                guard runLow < runHigh else { continue }
                for segment in segments {
                    let lo = max(runLow, segment.range.lowerBound)
                    let hi = min(runHigh, segment.range.upperBound)
                    guard lo < hi else { continue }
                    AdamWKernel.update(
                        p + run.valueOffset + (lo - run.gradientOffset), g + lo, m + lo, v + lo, count: hi - lo, scalars,
                        decay: decays && segment.decays)
                }
            }
        }
    }

    /// Restores a checkpointed state: the step count and both moments (copied in).
    /// - Throws: `OptimizerError.stateMismatch` when the sizes differ from `parameterCount`
    ///   or the step count is negative.
    public func loadState(
        stepCount: Int, firstMoment m: UnsafeBufferPointer<Float>,
        secondMoment v: UnsafeBufferPointer<Float>
    ) throws {
        guard m.count == parameterCount, v.count == parameterCount, stepCount >= 0 else {
            throw OptimizerError.stateMismatch(
                "AdamW state of \(m.count)/\(v.count) elements at step \(stepCount) for \(parameterCount) parameters")
        }
        if parameterCount > 0 {
            firstMoment.baseAddress!.update(from: m.baseAddress!, count: parameterCount)
            secondMoment.baseAddress!.update(from: v.baseAddress!, count: parameterCount)
        }
        self.stepCount = stepCount
    }

    /// Back to the initial state: step 0, zero moments.
    public func reset() {
        stepCount = 0
        firstMoment.update(repeating: 0)
        secondMoment.update(repeating: 0)
    }
}

import FTCore

/// Gradient clipping by the global L2 norm, as `torch.nn.utils.clip_grad_norm_` (torch 2.x),
/// over one flat gradient buffer.
///
///     total = ‖g‖₂ over every element                      (torch: norm of the per-tensor norms)
///     coef  = (1 / (total + 1e-6)) · maxNorm               (`max_norm / t` is `t.reciprocal() * max_norm`)
///     g    ← g · min(coef, 1)                              (always multiplied: by 1.0 when not clipping)
///
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html,
/// `torch/nn/utils/clip_grad.py` (`_get_total_norm`, `_clip_grads_with_norm_`).
///
/// Numerical contract: the norm is accumulated in fixed blocks of `blockSize` elements (a
/// float32 SIMD dot per block, blocks summed in Double, in order), so it is deterministic,
/// independent of how tensors are laid out or threads are used, and within ~1e-7 relative of
/// torch's float32 result (whose per-tensor reduction order differs). A non-finite norm gives a
/// NaN/0 coefficient and poisons the gradients as torch does with `error_if_nonfinite=False`.
public enum GradientClipping {
    /// Elements per float32 partial sum of squares.
    public static let blockSize = 4096

    /// ‖g‖₂ of the whole buffer, as a Float (torch's `total_norm`, HF's logged `grad_norm`).
    public static func globalNorm(_ gradients: UnsafeBufferPointer<Float>) -> Float {
        guard let g = gradients.baseAddress else { return 0 }
        let sum = GradientNormKernel.sumOfSquares(g, count: gradients.count, blockSize: blockSize)
        return Float(sum.squareRoot())
    }

    /// Scales `gradients` in place so their global norm is at most `maxNorm` (by
    /// `min(maxNorm / (norm + 1e-6), 1)`) and returns the norm measured *before* clipping.
    /// - Precondition: `maxNorm > 0` (HF skips clipping when `max_grad_norm` is 0; use `globalNorm`).
    @discardableResult
    public static func clipByGlobalNorm(_ gradients: UnsafeMutableBufferPointer<Float>, maxNorm: Double) -> Float {
        precondition(maxNorm > 0, "max_norm must be > 0")
        let total = globalNorm(UnsafeBufferPointer(gradients))
        let coefficient = clipCoefficient(totalNorm: total, maxNorm: maxNorm)
        if let g = gradients.baseAddress {
            // The multiply by exactly 1.0 when not clipping changes nothing; skipping it saves a pass.
            if coefficient != 1 { GradientNormKernel.scale(g, by: coefficient, count: gradients.count) }
        }
        return total
    }

    /// torch's float32 `clamp(max_norm / (total_norm + 1e-6), max=1.0)`; NaN stays NaN.
    public static func clipCoefficient(totalNorm: Float, maxNorm: Double) -> Float {
        let coefficient = (1 / (totalNorm + Float(1e-6))) * Float(maxNorm)
        return coefficient > 1 ? 1 : coefficient
    }
}

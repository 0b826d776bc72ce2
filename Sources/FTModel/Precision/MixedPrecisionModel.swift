import FTCore

/// A model whose dense matrix products can run in bfloat16 (`bf16: true`): operands rounded to
/// bf16, float32 accumulation; parameters, gradients, optimizer state, norms, softmax and the loss
/// stay float32, as `torch.autocast("cpu", dtype=torch.bfloat16)` keeps them.
///
/// Kept apart from `SequenceModel` so a model family opts in when its products are routed
/// through `MatrixProduct` (`EncoderModel` does).
public protocol MixedPrecisionModel: AnyObject {
    /// The arithmetic of the model's dense products (float32 by default).
    var precision: MatrixPrecision { get set }
}

extension EncoderModel: MixedPrecisionModel {}

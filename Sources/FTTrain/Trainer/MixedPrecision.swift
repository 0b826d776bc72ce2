import FTCore
import FTModel

/// `bf16: true` applied to a loaded model: its products switch to bfloat16 (`MixedPrecisionModel`);
/// a model that cannot is refused by name.
public enum MixedPrecision {
    /// Sets `model`'s product precision from `bf16`, and logs where the products will run (bf16
    /// instructions, or float32 on a CPU without `avx512_bf16`).
    public static func apply(to model: any SequenceModel, bf16: Bool, log: TrainingLog?) throws {
        guard bf16 else { return }
        guard let mixed = model as? MixedPrecisionModel else {
            throw ModelError.badInput("`bf16: true`: \(model.architectureName) has no bfloat16 products yet")
        }
        mixed.precision = .bfloat16
        let path =
            BF16Products.usesBF16Instructions
            ? "bfloat16 products on avx512_bf16 (oneDNN), float32 accumulation"
            : "bf16 requested, but products run in float32 (\(BF16Products.cpuHasBF16 ? "FTTRAIN_BF16_FALLBACK is set" : "this CPU has no avx512_bf16"))"
        log?.message("mixed precision: \(path)")
    }
}

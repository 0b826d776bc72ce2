/// Matrix-product FLOPs of a step, counted exactly as the anchor's `analytic_flops` does (an FMA
/// is 2 FLOP; encoder linears over all tokens, QKᵀ and PV, pooler and head on the [CLS] rows;
/// embeddings, norms, softmax, GELU and AdamW ignored), so GFLOP/s figures compare directly.
/// `computed…` is what fttrain runs: with `firstTokenOnly`, the last layer's rows other than the
/// first are not computed (only their keys and values), counted by the same rules.
public struct EncoderFLOPs: Sendable {
    /// The anchor's count of a forward pass and of a training step.
    public let forward: Double
    public let trainingStep: Double
    /// The same, less what the first-token last layer does not compute.
    public let computedForward: Double
    public let computedTrainingStep: Double

    public init(
        config: EncoderConfig, batch B: Int, sequence T: Int, labels: Int, tokenHead: Bool = false, lora: Bool = false, firstTokenOnly: Bool = false
    ) {
        let H = Double(config.hiddenSize), I = Double(config.intermediateSize), L = Double(config.numHiddenLayers)
        let tokens = Double(B * T)
        // Each layer's attention width A (H unless heads were pruned): q, k, v (A, H), output (H, A).
        let widths = (0..<config.numHiddenLayers).map { Double(config.attentionWidth(layer: $0)) }
        let lastWidth = widths.last ?? H
        let linearParameters = widths.reduce(0) { $0 + 4 * H * $1 + 2 * H * I }
        let linear = 2 * linearParameters * tokens
        let attention = widths.reduce(0) { $0 + 2 * (2 * Double(B) * Double(T) * Double(T) * $1) }
        // A token head: the classifier on every token, no pooler.
        let head = tokenHead ? 2 * H * Double(labels) * tokens : 2 * (H * H + H * Double(labels)) * Double(B)
        forward = linear + attention + head
        // The last layer for first tokens: query, key and value for every token, the rest for B rows.
        let skippedLinear = firstTokenOnly ? 2 * (H * lastWidth + 2 * H * I) * (tokens - Double(B)) : 0
        let skippedAttention = firstTokenOnly ? 2 * (2 * Double(B) * Double(T) * lastWidth) * (Double(T) - 1) : 0
        computedForward = forward - skippedLinear - skippedAttention
        if lora {
            // The anchor's count: r 8 on query and value; frozen linears get no weight gradients.
            let r = 8.0
            let loraForward = L * 2 * 2 * (H * r + r * H) * tokens
            trainingStep = 3 * forward - linear + 3 * loraForward
            computedTrainingStep = 3 * computedForward - (linear - skippedLinear) + 3 * loraForward
        } else {
            trainingStep = 3 * forward  // forward, input gradients, weight gradients
            computedTrainingStep = 3 * computedForward
        }
    }
}

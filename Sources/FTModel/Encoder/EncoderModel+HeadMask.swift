/// The gradient of the loss with respect to a head mask: Michel et al. (2019), "Are Sixteen Heads
/// Really Better than One?", §4 — a variable ξₕ multiplies head h's output, `context_h ← ξₕ · context_h`
/// (Hugging Face's `head_mask`, which scales the attention probabilities, gives the same product),
/// and at ξ = 1
///
///     ∂loss/∂ξₕ = Σ_tokens Σ_{j in head h} ∂loss/∂context[token, j] · context[token, j],
///
/// so one ordinary backward pass yields every head's figure from the context and its gradient,
/// which each layer's backward has at hand after the attention-output product. The importance
/// Iₕ = Σ_batches |∂loss/∂ξₕ| is then summed by the caller (`HeadImportance` in FTTrain).
extension EncoderModel {
    /// Zeroed `[layer][head]` accumulators: from now on every `backward` adds its head-mask
    /// gradient into `headMaskGradients` (set it to nil to stop).
    public func recordHeadMaskGradients() {
        headMaskGradients = (0..<config.numHiddenLayers).map { [Float](repeating: 0, count: config.heads(layer: $0)) }
    }

    /// headMaskGradients[l][h] += Σ_r Σ_j dContext[r, h·d + j] · context[r, h·d + j] over `rows`
    /// rows of layer `l`'s `context (R, A)` and `dContext (R, A)`; nothing when not recording.
    func accumulateHeadMaskGradient(layer l: Int, context: UnsafePointer<Float>, dContext: UnsafePointer<Float>, rows R: Int) {
        guard headMaskGradients != nil else { return }
        let A = config.attentionWidth(layer: l), d = config.headSize
        for h in 0..<config.heads(layer: l) {
            var sum: Double = 0
            for r in 0..<R {
                let row = r * A + h * d
                for j in 0..<d { sum += Double(dContext[row + j]) * Double(context[row + j]) }
            }
            headMaskGradients![l][h] += Float(sum)
        }
    }
}

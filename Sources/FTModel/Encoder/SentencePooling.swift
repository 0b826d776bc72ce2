/// Sentence embeddings from token states, with sentence-transformers' semantics.
public enum SentencePooling: String, Sendable, CaseIterable {
    /// Mean of the last hidden states over tokens whose attention mask is 1.
    case mean
    /// The first token's (`[CLS]`) last hidden state.
    case cls

    /// output (B, C) from lastHidden (B, T, C) and the mask (B, T); L2-normalised when asked
    /// (`x / max(‖x‖, 1e-12)`, as `torch.nn.functional.normalize`).
    public func pool(
        output: UnsafeMutablePointer<Float>, lastHidden: UnsafePointer<Float>,
        attentionMask: UnsafePointer<Int32>, batch B: Int, sequence T: Int, channels C: Int,
        normalize: Bool
    ) {
        for b in 0..<B {
            let out = output + b * C
            switch self {
            case .cls:
                out.update(from: lastHidden + b * T * C, count: C)
            case .mean:
                out.update(repeating: 0, count: C)
                var count: Float = 0
                for t in 0..<T where attentionMask[b * T + t] != 0 {
                    let row = lastHidden + (b * T + t) * C
                    for i in 0..<C { out[i] += row[i] }
                    count += 1
                }
                // sentence-transformers clamps the token count at 1e-9.
                let inv = 1 / max(count, 1e-9)
                for i in 0..<C { out[i] *= inv }
            }
            if normalize {
                var sq: Float = 0
                for i in 0..<C { sq += out[i] * out[i] }
                let inv = 1 / max(sq.squareRoot(), 1e-12)
                for i in 0..<C { out[i] *= inv }
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The sigmoid followed by the binary cross-entropy, PyTorch's `nn.BCEWithLogitsLoss` with
/// `reduction='mean'`: the mean over all N = B·L logits of
/// `max(x, 0) − x·y + log(1 + exp(−|x|))`, the numerically stable form PyTorch uses (no sigmoid
/// of a large |x| is ever taken).
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
public enum BinaryCrossEntropy {
    /// Returns the mean loss over the `count` logits and, when `dLogits` is given, writes its
    /// gradient (overwriting): `(σ(x) − y) / count`. `targets` are in [0, 1] (multi-hot 0/1 for
    /// multi-label classification). The sum is taken in Double.
    public static func forward(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, count N: Int,
        dLogits: UnsafeMutablePointer<Float>? = nil
    ) -> Float {
        guard N > 0 else { return 0 }
        var total: Double = 0
        let scale = 1 / Float(N)
        for i in 0..<N {
            let x = logits[i], y = targets[i]
            total += Double(max(x, 0) - x * y + log1pf(expf(-abs(x))))
            // d/dx = σ(x) − y, σ computed from exp(−|x|) on the stable side.
            if let dLogits {
                let e = expf(-abs(x))
                let sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e)
                dLogits[i] = (sigmoid - y) * scale
            }
        }
        return Float(total / Double(N))
    }

    /// σ(x) = 1 / (1 + exp(−x)), the probability of each label, from the stable side.
    public static func sigmoid(_ x: Float) -> Float {
        let e = expf(-abs(x))
        return x >= 0 ? 1 / (1 + e) : e / (1 + e)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Softmax followed by the negative log-likelihood, PyTorch's `nn.CrossEntropyLoss` with
/// `reduction='mean'` and optional per-class weights (then the mean divides by the summed weights
/// of the targets, as PyTorch does).
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
public enum SoftmaxCrossEntropy {
    /// Returns the mean loss over the B rows and, when `dLogits` is given, writes its gradient
    /// (B, L) (overwriting), already divided by the reduction denominator.
    /// `probabilities` (B, L), when given, receives the softmax.
    public static func forward(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classWeights: UnsafePointer<Float>? = nil,
        batch B: Int, classes L: Int,
        probabilities: UnsafeMutablePointer<Float>? = nil, dLogits: UnsafeMutablePointer<Float>? = nil
    ) -> Float {
        var total: Double = 0
        var denominator: Double = 0
        for b in 0..<B {
            let row = logits + b * L
            var maxValue = -Float.infinity
            for j in 0..<L { maxValue = max(maxValue, row[j]) }
            var sum: Float = 0
            for j in 0..<L { sum += expf(row[j] - maxValue) }
            let logSum = logf(sum) + maxValue
            let y = Int(labels[b])
            let w = classWeights.map { $0[y] } ?? 1
            total += Double(w * (logSum - row[y]))
            denominator += Double(w)
            // The softmax, kept for the caller and as the start of the gradient, from the same log-sum-exp.
            if probabilities != nil || dLogits != nil {
                for j in 0..<L {
                    let p = expf(row[j] - logSum)
                    probabilities?[b * L + j] = p
                    dLogits?[b * L + j] = p
                }
            }
        }
        if let dLogits {
            // d(mean loss)/d logit = w_y · (p − onehot(y)) / Σ w.
            let scale = Float(1 / denominator)
            for b in 0..<B {
                let y = Int(labels[b])
                let w = (classWeights.map { $0[y] } ?? 1) * scale
                for j in 0..<L { dLogits[b * L + j] = w * (dLogits[b * L + j] - (j == y ? 1 : 0)) }
            }
        }
        return Float(total / denominator)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The token-classification loss of Hugging Face's `*ForTokenClassification(labels=…)`: the
/// cross-entropy of each position's logits against its own label, `−100` labels ignored, averaged
/// over the targets that remain (`CrossEntropyLoss()(logits.view(-1, L), labels.view(-1))`):
///
///     loss = Σ_{n, y = labels[n] ≠ −100} (logsumexp(logits[n]) − logits[n, y]) / N
///
/// Unlike `NextTokenCrossEntropy` there is no shift. A batch with no target has loss 0 and a zero
/// gradient (PyTorch gives NaN, 0/0), so such a micro-batch adds nothing to a step.
public enum TokenCrossEntropy {
    /// The label value that is no target (PyTorch's default `ignore_index`).
    public static let ignoreIndex: Int32 = -100

    /// Positions of `labels` (rows) that are targets.
    public static func targetCount(labels: UnsafePointer<Int32>, rows: Int) -> Int {
        var n = 0
        for r in 0..<rows where labels[r] != ignoreIndex { n += 1 }
        return n
    }

    /// The mean loss over the targets of `logits` (rows, L) and `labels` (rows); when given,
    /// `dLogits` (rows, L) receives its gradient (overwritten, zero at ignored rows, divided by
    /// the target count), `probabilities` (rows, L) the softmax of every row, and `sum` the
    /// summed (not averaged) loss in Double.
    /// - Precondition: every label that is not `ignoreIndex` is in `0 ..< L` (checked by the caller).
    public static func forward(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int, classes L: Int,
        dLogits: UnsafeMutablePointer<Float>? = nil, probabilities: UnsafeMutablePointer<Float>? = nil,
        sum: UnsafeMutablePointer<Double>? = nil
    ) -> Float {
        let N = targetCount(labels: labels, rows: rows)
        let scale: Float = N > 0 ? 1 / Float(N) : 0
        var total: Double = 0
        for r in 0..<rows {
            let row = logits + r * L
            let y = labels[r]
            var maxValue = -Float.infinity
            for j in 0..<L { maxValue = max(maxValue, row[j]) }
            var s: Float = 0
            for j in 0..<L { s += expf(row[j] - maxValue) }
            let logSum = logf(s) + maxValue
            if let probabilities {
                for j in 0..<L { probabilities[r * L + j] = expf(row[j] - logSum) }
            }
            guard y != ignoreIndex else {
                if let dLogits { (dLogits + r * L).update(repeating: 0, count: L) }
                continue
            }
            total += Double(logSum - row[Int(y)])
            if let dLogits {
                // d(mean loss)/d logit = (softmax − onehot(y)) / N.
                for j in 0..<L { dLogits[r * L + j] = scale * (expf(row[j] - logSum) - (j == Int(y) ? 1 : 0)) }
            }
        }
        sum?.pointee = total
        return N > 0 ? Float(total / Double(N)) : 0
    }
}

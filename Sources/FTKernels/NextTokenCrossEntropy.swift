#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The causal language model's loss over a vocabulary-wide row per position: softmax followed by
/// the negative log-likelihood of each row's target, averaged over the rows that have one (PyTorch's
/// `cross_entropy(ignore_index=-100)` with `reduction='mean'`, as `LlamaForCausalLM` applies it to
/// logits and labels shifted by one). Rows run across the slice threads, each in vector code
/// (`VectorMath.exp`): with 49,152 classes per row a scalar `expf` per logit was the largest
/// non-product cost of a training step.
///
/// The gradient may overwrite the logits in place (`dLogits == logits`), so a (rows, V) block
/// needs no second buffer of its size.
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html
public enum NextTokenCrossEntropy {
    /// The number of rows of `targets` (rows) that have a target (≥ 0; negative ids are ignored).
    public static func targetCount(_ targets: UnsafePointer<Int32>, rows N: Int) -> Int {
        var count = 0
        for i in 0..<N where targets[i] >= 0 { count += 1 }
        return count
    }

    /// Returns Σ over rows with a target of `logsumexp(row) − row[target]` (not divided: the caller
    /// divides by `denominator`, which lets a pass in row blocks share one mean) and, when
    /// `dLogits` is given, writes its gradient of (that sum / `denominator`): `(softmax − onehot) /
    /// denominator` for rows with a target, zeros for the others. `dLogits` may equal `logits`.
    /// - Parameters:
    ///   - logits: (N, V).
    ///   - targets: (N) class ids in 0 ..< V, or negative for no target.
    ///   - denominator: the mean's divisor (all targeted rows of the batch, ≥ 1).
    public static func forward(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows N: Int, classes V: Int,
        denominator: Int, dLogits: UnsafeMutablePointer<Float>?
    ) -> Double {
        let slices = Parallel.sliceCount(of: N)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(slices, 1)) { partial in
            partial.initialize(repeating: 0)
            let scale = Float(1 / Double(max(denominator, 1)))
            let sums = partial.baseAddress!
            Parallel.forEachSlice(of: N) { slice, rows in
                var total: Double = 0
                for n in rows {
                    let row = logits + n * V, y = Int(targets[n])
                    guard y >= 0 else {
                        dLogits?.advanced(by: n * V).update(repeating: 0, count: V)
                        continue
                    }
                    let logSum = logSumExp(row, V)
                    total += Double(logSum - row[y])
                    if let dLogits { softmaxGradient(dLogits + n * V, row, V, logSum: logSum, scale: scale, target: y) }
                }
                sums[slice] = total
            }
            var total: Double = 0
            for i in 0..<slices { total += sums[i] }
            return total
        }
    }

    /// log Σ exp(x) over n floats, through the maximum.
    @inline(__always)
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let m = VectorMath.max(x, n)
        let width = VectorMath.width, mv = VectorMath.Vector(repeating: m)
        var acc = VectorMath.Vector(repeating: 0)
        var j = 0
        while j + width <= n {
            acc += VectorMath.exp(VectorMath.load(x + j) - mv)
            j += width
        }
        var sum = acc.sum()
        while j < n {
            sum += VectorMath.exp(VectorMath.Vector(repeating: x[j] - m))[0]
            j += 1
        }
        return m + logf(sum)
    }

    /// out = scale · (exp(x − logSum) − onehot(target)); out may equal x.
    @inline(__always)
    static func softmaxGradient(
        _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, logSum: Float, scale: Float, target: Int
    ) {
        let width = VectorMath.width
        let lv = VectorMath.Vector(repeating: logSum), sv = VectorMath.Vector(repeating: scale)
        var j = 0
        while j + width <= n {
            VectorMath.store(VectorMath.exp(VectorMath.load(x + j) - lv) * sv, out + j)
            j += width
        }
        while j < n {
            out[j] = VectorMath.exp(VectorMath.Vector(repeating: x[j] - logSum))[0] * scale
            j += 1
        }
        out[target] -= scale
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The causal language-modelling loss of Hugging Face's `*ForCausalLM(labels=…)`: logits at
/// position t predict the label at t + 1, `−100` labels are ignored, and the loss is the mean
/// cross-entropy over the targets that remain:
///
///     loss = Σ_{b, t < T−1, y = labels[b, t+1] ≠ −100} (logsumexp(logits[b, t]) − logits[b, t, y]) / N
///
/// (`F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)`).
/// reference: transformers/loss/loss_utils.py `ForCausalLMLoss`
///
/// The rows are independent, so they are split across `Parallel`'s threads; each row is two SIMD
/// passes over its V logits (max, then Σ exp, the exponentials written into the gradient) and,
/// for the gradient, a third that only rescales them (softmax − one-hot): one exp per logit.
/// Partial sums live on the stack: a call allocates nothing.
public enum NextTokenCrossEntropy {
    /// The label value that is no target (PyTorch's default `ignore_index`).
    public static let ignoreIndex: Int32 = -100

    /// Target tokens of `labels` (B, T) after the shift: labels at positions 1 ..< T that are not `ignoreIndex`.
    public static func targetCount(labels: UnsafePointer<Int32>, batch B: Int, sequence T: Int) -> Int {
        var n = 0
        for b in 0..<B where T > 1 {
            for t in 1..<T where labels[b * T + t] != ignoreIndex { n += 1 }
        }
        return n
    }

    /// The mean loss over the shifted targets of `logits` (B, T, V) and `labels` (B, T), and, when
    /// `dLogits` is given, its gradient (B, T, V) (overwritten; zero at ignored positions and at
    /// each row's last position), already divided by the number of targets.
    /// A batch with no target at all has loss 0 and a zero gradient (PyTorch would give NaN: 0/0).
    /// - Parameter sum: when given, receives the summed (not averaged) loss in Double, and
    ///   `targets` the number of targets, for token-weighted means across batches.
    /// - Precondition: every label that is not `ignoreIndex` is in `0 ..< V` (checked by the caller).
    public static func forward(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch B: Int, sequence T: Int, vocabulary V: Int,
        dLogits: UnsafeMutablePointer<Float>?, sum: UnsafeMutablePointer<Double>? = nil
    ) -> Float {
        let N = targetCount(labels: labels, batch: B, sequence: T)
        let rows = B * T
        let scale: Float = N > 0 ? 1 / Float(N) : 0
        let slices = Parallel.sliceCount(of: rows)
        let total: Double = withUnsafeTemporaryAllocation(of: Double.self, capacity: max(slices, 1)) { partial in
            for i in 0..<partial.count { partial[i] = 0 }
            Parallel.forEachSlice(of: rows) { slice, range in
                var s: Double = 0
                for r in range {
                    let t = r % T
                    let row = logits + r * V
                    let y = t + 1 < T ? labels[r + 1] : ignoreIndex
                    guard y != ignoreIndex else {
                        if let dLogits { (dLogits + r * V).update(repeating: 0, count: V) }
                        continue
                    }
                    if let dLogits {
                        // e^(x − max) is written once and rescaled, rather than computed twice.
                        let out = dLogits + r * V
                        let maxValue = VectorMath.max(row, V)
                        let sum = exponentiate(row, minus: maxValue, into: out, V)
                        s += Double(logf(sum) + maxValue - row[Int(y)])
                        scaleGradient(out, by: scale / sum, target: Int(y), scale: scale, V)
                    } else {
                        s += Double(logSumExp(row, V) - row[Int(y)])
                    }
                }
                partial[slice] = s
            }
            var total: Double = 0
            for i in 0..<partial.count { total += partial[i] }
            return total
        }
        sum?.pointee = total
        return N > 0 ? Float(total / Double(N)) : 0
    }

    /// log Σ_j e^{row[j]}, max-subtracted.
    @inline(__always)
    static func logSumExp(_ row: UnsafePointer<Float>, _ V: Int) -> Float {
        let maxValue = VectorMath.max(row, V)
        let m = VectorMath.Vector(repeating: maxValue)
        var acc = VectorMath.Vector(repeating: 0)
        var j = 0
        while j + VectorMath.width <= V {
            acc += VectorMath.exp(VectorMath.load(row + j) - m)
            j += VectorMath.width
        }
        var sum = acc.sum()
        while j < V {
            sum += expf(row[j] - maxValue)
            j += 1
        }
        return logf(sum) + maxValue
    }

    /// out[j] = e^(row[j] − m); returns Σ out.
    @inline(__always)
    static func exponentiate(_ row: UnsafePointer<Float>, minus m: Float, into out: UnsafeMutablePointer<Float>, _ V: Int) -> Float {
        let mv = VectorMath.Vector(repeating: m)
        var acc = VectorMath.Vector(repeating: 0)
        var j = 0
        while j + VectorMath.width <= V {
            let e = VectorMath.exp(VectorMath.load(row + j) - mv)
            VectorMath.store(e, out + j)
            acc += e
            j += VectorMath.width
        }
        var sum = acc.sum()
        while j < V {
            out[j] = expf(row[j] - m)
            sum += out[j]
            j += 1
        }
        return sum
    }

    /// out[j] ← out[j] · factor − [j = target] · scale: softmax − one-hot, times the mean's 1/N.
    @inline(__always)
    static func scaleGradient(_ out: UnsafeMutablePointer<Float>, by factor: Float, target: Int, scale: Float, _ V: Int) {
        let f = VectorMath.Vector(repeating: factor)
        var j = 0
        while j + VectorMath.width <= V {
            VectorMath.store(VectorMath.load(out + j) * f, out + j)
            j += VectorMath.width
        }
        while j < V {
            out[j] *= factor
            j += 1
        }
        out[target] -= scale
    }
}

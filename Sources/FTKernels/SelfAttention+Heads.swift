/// Inference attention with its heads spread over the slice threads, for a batch with fewer
/// sequences than threads — above all one served text, whose attention otherwise runs on one core
/// while the other waits for the next product (12 heads × 2 small products and a softmax per
/// layer). Training, and batches that the encoder already slices by sequence, keep the
/// per-sequence loops of `forward` and `forwardFirstQuery`.
///
/// Each head is computed by the same calls on the same operands as in the sequential loop (only
/// the thread and the address of its (T, T) score scratch differ), so the context is the same to
/// the bit (`SingleTextParallelTests`).
extension SelfAttention {
    /// Whether `forward`/`forwardFirstQuery` spread (sequence, head) pairs over the slice threads:
    /// inference (no probabilities kept, no dropout) with more slices over the pairs than over
    /// the sequences, while the workers are spinning (`SlicePool.spreadsSmallWork`).
    static func spreadsHeads(batch B: Int, heads NH: Int, dropout: Dropout?, keepProbabilities: Bool) -> Bool {
        !keepProbabilities && (dropout?.isIdentity ?? true) && Parallel.sliceCount(of: B) < Parallel.sliceCount(of: B * NH)
            && SlicePool.spreadSmallWorkNow
    }

    /// `forward` without dropout or kept probabilities, its (sequence, head) pairs across the slice
    /// threads; each thread's (T, T) scores in its own scratch. With `firstQueryOnly`,
    /// `forwardFirstQuery`'s: context (B, C) from each sequence's first query.
    static func forwardAcrossHeads(
        context: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, attentionMask: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int, heads NH: Int, firstQueryOnly: Bool
    ) {
        let d = C / NH
        let scale = 1 / Float(d).squareRoot()
        let C3 = 3 * C
        Parallel.forEachSlice(of: B * NH) { pairs in
            // This thread's scores (T, T), or (T) for the first query, then the keep mask (T).
            let scratch = AttentionScratch.current.floats((firstQueryOnly ? T : T * T) + T)
            let keep = scratch + (firstQueryOnly ? T : T * T)
            var maskOf = -1, anyKey = false
            for pair in pairs {
                let b = pair / NH, h = pair % NH
                if b != maskOf {
                    let mask = attentionMask + b * T
                    for j in 0..<T { keep[j] = mask[j] != 0 ? 1 : 0 }
                    anyKey = UnsafeBufferPointer(start: keep, count: T).contains(1)
                    maskOf = b
                }
                let q = qkv + b * T * C3 + h * d
                let head = Head(q: q, k: q + C, v: q + 2 * C, keep: UnsafePointer(keep), anyKey: anyKey)
                let p = scratch
                if firstQueryOnly {
                    // As `forwardFirstQuery`: scores (1, T) = q₀ · Kᵀ / √d, softmax, context row = P · V.
                    BLAS.sgemm(
                        transA: false, transB: true, m: 1, n: T, k: d, alpha: scale,
                        a: head.q, lda: C3, b: head.k, ldb: C3, beta: 0, c: p, ldc: T)
                    head.softmax(p, count: T)
                    BLAS.sgemm(
                        transA: false, transB: false, m: 1, n: d, k: T,
                        a: p, lda: T, b: head.v, ldb: C3,
                        beta: 0, c: context + b * C + h * d, ldc: C)
                } else {
                    // As `forward`: scores (T, T) = Q Kᵀ / √d, row softmax, context (T, d) = P V.
                    BLAS.sgemm(
                        transA: false, transB: true, m: T, n: T, k: d, alpha: scale,
                        a: head.q, lda: C3, b: head.k, ldb: C3, beta: 0, c: p, ldc: T)
                    for i in 0..<T { head.softmax(p + i * T, count: T) }
                    BLAS.sgemm(
                        transA: false, transB: false, m: T, n: d, k: T,
                        a: p, lda: T, b: head.v, ldb: C3,
                        beta: 0, c: context + b * T * C + h * d, ldc: C)
                }
            }
        }
    }
}

/// One thread's attention scratch for `forwardAcrossHeads` (grown as needed, never shrunk).
final class AttentionScratch {
    private static let slot = ThreadSlot { AttentionScratch() }
    private var buffer: UnsafeMutablePointer<Float>?, capacity = 0

    /// The calling thread's scratch.
    static var current: AttentionScratch { slot.current }

    /// Room for `count` floats.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            buffer?.deallocate()
            buffer = .allocate(capacity: count)
            capacity = count
        }
        return buffer!
    }

    deinit { buffer?.deallocate() }
}

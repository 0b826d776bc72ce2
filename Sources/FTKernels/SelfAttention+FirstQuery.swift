/// Self-attention for the first query of each sequence only: what the last layer computes when
/// only the first token's output is read (the pooler and a classification head). Keys and values
/// still come from every token; the masks, scale and dropout indices are those of the full
/// `forward`, so the first query's row is the full pass's row 0.
extension SelfAttention {
    /// context (B, C) ← row 0 of each sequence's attention over qkv (B, T, 3C).
    ///
    /// With `keepProbabilities`, the undropped probabilities go to `probabilities` (B, NH, T) for
    /// `backwardFirstQuery`; otherwise `probabilities` is one (T) scratch. With dropout, the
    /// dropped row goes to `dropoutScratch` (T); `dropoutIndexOffset` is the global index of this
    /// batch slice's first probability in the full (B, NH, T, T) layout.
    public static func forwardFirstQuery(
        context: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, attentionMask: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int, heads NH: Int,
        dropout: Dropout? = nil, dropoutScratch: UnsafeMutablePointer<Float>? = nil, dropoutIndexOffset: Int = 0,
        keepProbabilities: Bool = true
    ) {
        if spreadsHeads(batch: B, heads: NH, dropout: dropout, keepProbabilities: keepProbabilities) {
            forwardAcrossHeads(
                context: context, qkv: qkv, attentionMask: attentionMask, batch: B, sequence: T, channels: C, heads: NH,
                firstQueryOnly: true)
            return
        }
        let d = C / NH
        let scale = 1 / Float(d).squareRoot()
        let C3 = 3 * C
        forEachHead(qkv: qkv, attentionMask: attentionMask, batch: B, sequence: T, channels: C, heads: NH) { b, h, head in
            let p = keepProbabilities ? probabilities + (b * NH + h) * T : probabilities  // (T)
            // scores (1, T) = q₀ (1, d) · Kᵀ / √d
            BLAS.sgemm(
                transA: false, transB: true, m: 1, n: T, k: d, alpha: scale,
                a: head.q, lda: C3, b: head.k, ldb: C3, beta: 0, c: p, ldc: T)
            head.softmax(p, count: T)
            let weights = dropped(
                p, count: T, dropout: dropout, scratch: dropoutScratch,
                firstIndex: dropoutIndexOffset + (b * NH + h) * T * T)
            // context row (1, d) = P' (1, T) · V (T, d)
            BLAS.sgemm(
                transA: false, transB: false, m: 1, n: d, k: T,
                a: weights, lda: T, b: head.v, ldb: C3,
                beta: 0, c: context + b * C + h * d, ldc: C)
        }
    }

    /// dQKV (B, T, 3C) ← backward of `forwardFirstQuery` given dContext (B, C). Overwrites dQKV:
    /// the query gradient is zero for every token but the first; keys and values get the
    /// gradient of the first query's attention. Sequences run across the slice threads.
    /// `probabilities` is the (B, NH, T) cache of the forward pass.
    public static func backwardFirstQuery(
        dQKV: UnsafeMutablePointer<Float>, dContext: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
        batch B: Int, sequence T: Int, channels C: Int, heads NH: Int, dropout: Dropout? = nil
    ) {
        let d = C / NH
        let scale = 1 / Float(d).squareRoot()
        let C3 = 3 * C
        let dropping = dropout.map { !$0.isIdentity } ?? false
        Parallel.forEachSlice(of: B) { sequences in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * T) { buffer in
                let dP = buffer.baseAddress!, droppedRow = dP + T
                for b in sequences {
                    for t in 1..<max(T, 1) { (dQKV + (b * T + t) * C3).update(repeating: 0, count: C) }
                    for h in 0..<NH {
                        let q = qkv + b * T * C3 + h * d
                        let k = q + C
                        let v = q + 2 * C
                        let dq = dQKV + b * T * C3 + h * d
                        let dk = dq + C
                        let dv = dq + 2 * C
                        let p = probabilities + (b * NH + h) * T
                        let dO = dContext + b * C + h * d
                        let weights = self.dropped(
                            p, count: T, dropout: dropout, scratch: droppedRow,
                            firstIndex: (b * NH + h) * T * T)
                        // dV (T, d) = P'ᵀ (T, 1) · dO (1, d)
                        BLAS.sgemm(
                            transA: true, transB: false, m: T, n: d, k: 1,
                            a: weights, lda: T, b: dO, ldb: C, beta: 0, c: dv, ldc: C3)
                        // dP' (1, T) = dO (1, d) · Vᵀ
                        BLAS.sgemm(
                            transA: false, transB: true, m: 1, n: T, k: d,
                            a: dO, lda: C, b: v, ldb: C3, beta: 0, c: dP, ldc: T)
                        if dropping {
                            droppedSoftmaxBackward(dP, probabilities: p, dropped: weights, count: T)
                        } else {
                            softmaxBackward(dP, probabilities: p, count: T)
                        }
                        // dQ₀ (1, d) = dS (1, T) · K (T, d) / √d
                        BLAS.sgemm(
                            transA: false, transB: false, m: 1, n: d, k: T, alpha: scale,
                            a: dP, lda: T, b: k, ldb: C3, beta: 0, c: dq, ldc: C3)
                        // dK (T, d) = dSᵀ (T, 1) · q₀ (1, d) / √d
                        BLAS.sgemm(
                            transA: true, transB: false, m: T, n: d, k: 1, alpha: scale,
                            a: dP, lda: T, b: q, ldb: C3, beta: 0, c: dk, ldc: C3)
                    }
                }
            }
        }
    }
}

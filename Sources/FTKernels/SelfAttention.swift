import CInt8

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Multi-head scaled dot-product self-attention with a key padding mask, as BERT's
/// `BertSelfAttention` computes it (eager path):
/// `softmax(Q Kᵀ / √d + (1 − mask) · float.min) V`, heads concatenated.
///
/// Input is the fused projection `qkv (B, T, 3C)` whose row holds `[q | k | v]`, each `C = NH · d`
/// wide with head `h` in columns `h·d ..< (h+1)·d`, so every head's Q, K, V is a strided matrix
/// that BLAS reads in place (leading dimension 3C) — no transposes, no copies.
public enum SelfAttention {
    /// context (B, T, C) ← attention over qkv (B, T, 3C); caches probabilities (B, NH, T, T).
    ///
    /// With `dropout` (attention-probability dropout, as BERT applies it before `P·V`), the dropped
    /// probabilities of one head go to `dropoutScratch` (B, T, T) and the cache keeps the undropped
    /// ones, which the softmax backward needs. `dropoutIndexOffset` is the global index of this
    /// batch slice's first probability, so masks do not depend on how a batch is sliced.
    ///
    /// Masked keys get probability exactly 0, which is what PyTorch's additive `float.min` mask
    /// gives after `exp` underflows. A row whose keys are all masked comes out uniform, again as
    /// in PyTorch (all scores collapse onto `float.min`).
    ///
    /// With `keepProbabilities` false (inference: no backward needs them), `probabilities` is one
    /// (T, T) scratch that every head reuses while it is still in cache; with fewer sequences
    /// than slice threads, heads run across the threads instead (`SelfAttention+Heads`).
    public static func forward(
        context: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, attentionMask: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int, heads NH: Int,
        dropout: Dropout? = nil, dropoutScratch: UnsafeMutablePointer<Float>? = nil, dropoutIndexOffset: Int = 0,
        keepProbabilities: Bool = true
    ) {
        // Fewer sequences than threads in inference (one served text): heads across the threads.
        if spreadsHeads(batch: B, heads: NH, dropout: dropout, keepProbabilities: keepProbabilities) {
            forwardAcrossHeads(
                context: context, qkv: qkv, attentionMask: attentionMask, batch: B, sequence: T, channels: C, heads: NH,
                firstQueryOnly: false)
            return
        }
        let d = C / NH
        let scale = 1 / Float(d).squareRoot()
        let C3 = 3 * C
        forEachHead(qkv: qkv, attentionMask: attentionMask, batch: B, sequence: T, channels: C, heads: NH) { b, h, head in
            let p = keepProbabilities ? probabilities + (b * NH + h) * T * T : probabilities  // (T, T)
            BLAS.sgemm(
                transA: false, transB: true, m: T, n: T, k: d, alpha: scale,
                a: head.q, lda: C3, b: head.k, ldb: C3, beta: 0, c: p, ldc: T)
            for i in 0..<T { head.softmax(p + i * T, count: T) }
            let weights = dropped(
                p, count: T * T, dropout: dropout, scratch: dropoutScratch.map { $0 + b * T * T },
                firstIndex: dropoutIndexOffset + (b * NH + h) * T * T)
            BLAS.sgemm(
                transA: false, transB: false, m: T, n: d, k: T,
                a: weights, lda: T, b: head.v, ldb: C3,
                beta: 0, c: context + b * T * C + h * d, ldc: C)
        }
    }

    /// One head of one sequence, as the forward passes see it.
    struct Head {
        /// The head's Q, K and V: strided (T, d) matrices inside qkv (leading dimension 3C).
        let q, k, v: UnsafePointer<Float>
        /// (T) 1 for keys to attend, 0 for padding: multiplying by it gives padding exactly 0.
        let keep: UnsafePointer<Float>
        /// False when every key is padding.
        let anyKey: Bool

        /// One row of scores → probabilities, in place: the softmax over the kept keys, or
        /// uniform when no key is kept (as PyTorch's, where all scores collapse onto float.min).
        @inline(__always)
        func softmax(_ row: UnsafeMutablePointer<Float>, count T: Int) {
            if anyKey { maskedSoftmax(row, keep: keep, count: T) } else { row.update(repeating: 1 / Float(T), count: T) }
        }
    }

    /// Calls `body(b, h, head)` for every sequence `b` and head `h` of qkv (B, T, 3C), in order.
    @inline(__always)
    static func forEachHead(
        qkv: UnsafePointer<Float>, attentionMask: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int, heads NH: Int,
        _ body: (Int, Int, Head) -> Void
    ) {
        let d = C / NH, C3 = 3 * C
        withUnsafeTemporaryAllocation(of: Float.self, capacity: T) { keep in
            for b in 0..<B {
                let mask = attentionMask + b * T
                for j in 0..<T { keep[j] = mask[j] != 0 ? 1 : 0 }
                let anyKey = keep.contains(1)
                for h in 0..<NH {
                    let q = qkv + b * T * C3 + h * d
                    body(b, h, Head(q: q, k: q + C, v: q + 2 * C, keep: UnsafePointer(keep.baseAddress!), anyKey: anyKey))
                }
            }
        }
    }

    /// `probabilities` after `dropout` (in `scratch`, from global index `firstIndex`), or
    /// `probabilities` themselves when there is no dropout.
    @inline(__always)
    static func dropped(
        _ probabilities: UnsafePointer<Float>, count: Int, dropout: Dropout?,
        scratch: UnsafeMutablePointer<Float>?, firstIndex: Int
    ) -> UnsafePointer<Float> {
        guard let dropout, !dropout.isIdentity, let scratch else { return probabilities }
        dropout.apply(from: probabilities, to: scratch, count: count, firstIndex: firstIndex)
        return UnsafePointer(scratch)
    }

    /// In place: row[j] ← keep[j] · e^(row[j] − max) / Σ, the max and sum over kept keys only.
    /// 16 lanes in C where the CPU has AVX-512 (`ft_masked_softmax_avx512`, the same floats as
    /// `maskedSoftmax8`, `SoftmaxAVX512Tests`), else 8 in Swift.
    @inline(__always)
    static func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, keep: UnsafePointer<Float>, count T: Int) {
        if maskedSoftmaxAVX512(row, keep: keep, count: T) { return }
        maskedSoftmax8(row, keep: keep, count: T)
    }

    /// `maskedSoftmax` in AVX-512; false (the row untouched) where the CPU lacks it.
    @inline(__always)
    static func maskedSoftmaxAVX512(_ row: UnsafeMutablePointer<Float>, keep: UnsafePointer<Float>, count T: Int) -> Bool {
        ft_masked_softmax_avx512(row, keep, Int32(T)) != 0
    }

    /// `maskedSoftmax` on 8-lane vectors.
    @inline(__always)
    static func maskedSoftmax8(_ row: UnsafeMutablePointer<Float>, keep: UnsafePointer<Float>, count T: Int) {
        typealias V = VectorMath.Vector
        let w = VectorMath.width, vectorEnd = T - T % w
        // A masked key reads as −greatest finite (row · 0 + (0 − 1) · greatest), a kept one as
        // itself, so one vector max covers the kept keys alone.
        let greatest = Float.greatestFiniteMagnitude
        var maxima = V(repeating: -greatest)
        var j = 0
        while j < vectorEnd {
            let k = VectorMath.load(keep + j)
            maxima = VectorMath.maximum(maxima, VectorMath.load(row + j) * k + (k - 1) * greatest)
            j += w
        }
        var maxValue = -Float.infinity
        for lane in 0..<w { maxValue = max(maxValue, maxima[lane]) }
        while j < T {
            if keep[j] != 0 { maxValue = max(maxValue, row[j]) }
            j += 1
        }
        var sums = V.zero
        j = 0
        while j < vectorEnd {
            let e = VectorMath.exp(VectorMath.load(row + j) - maxValue) * VectorMath.load(keep + j)
            VectorMath.store(e, row + j)
            sums += e
            j += w
        }
        if j < T {
            let lanes = T - j
            let e =
                VectorMath.exp(VectorMath.loadPartial(row + j, count: lanes) - maxValue)
                * VectorMath.loadPartial(keep + j, count: lanes)
            for k in 0..<lanes { row[j + k] = e[k] }
            sums += e
        }
        let inv = 1 / sums.sum()
        j = 0
        while j < vectorEnd {
            VectorMath.store(VectorMath.load(row + j) * inv, row + j)
            j += w
        }
        while j < T {
            row[j] *= inv
            j += 1
        }
    }

    /// dQKV (B, T, 3C) ← backward of `forward` given dContext (B, T, C). Overwrites dQKV.
    /// `scratch` and, with dropout, `dropoutScratch` hold B·T·T floats each (T·T per sequence
    /// that runs at once: sequences run across the slice threads, `Parallel`).
    ///
    /// With P the probabilities, P' = dropout(P) and S the scaled scores:
    /// dV = P'ᵀ dO;  dP' = dO Vᵀ;  dP = dropout(dP') (same mask and scale);
    /// dS = P ⊙ (dP − rowsum(dP ⊙ P));  dQ = dS K / √d;  dK = dSᵀ Q / √d.
    /// Under dropout P ⊙ dP = P' ⊙ dP', so dS = P' ⊙ dP' − P · rowsum(P' ⊙ dP'): the mask is
    /// applied once (to make P'), not a second time to dP'.
    public static func backward(
        dQKV: UnsafeMutablePointer<Float>, dContext: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>,
        batch B: Int, sequence T: Int, channels C: Int, heads NH: Int,
        dropout: Dropout? = nil, dropoutScratch: UnsafeMutablePointer<Float>? = nil
    ) {
        let d = C / NH
        let scale = 1 / Float(d).squareRoot()
        let C3 = 3 * C
        let dropping = dropout.map { !$0.isIdentity } ?? false
        // fatalError, not precondition: kept in this -Ounchecked target (a nil scratch would be read).
        if dropping && dropoutScratch == nil { fatalError("attention dropout needs its scratch") }
        Parallel.forEachSlice(of: B) { sequences in
            // This slice's own T × T scratch (and dropout scratch).
            let dP = scratch + sequences.lowerBound * T * T
            let droppedScratch = dropoutScratch.map { $0 + sequences.lowerBound * T * T }
            for b in sequences {
                for h in 0..<NH {
                    let q = qkv + b * T * C3 + h * d
                    let k = q + C
                    let v = q + 2 * C
                    let dq = dQKV + b * T * C3 + h * d
                    let dk = dq + C
                    let dv = dq + 2 * C
                    let p = probabilities + (b * NH + h) * T * T
                    let dO = dContext + b * T * C + h * d
                    let weights = self.dropped(
                        p, count: T * T, dropout: dropout, scratch: droppedScratch,
                        firstIndex: (b * NH + h) * T * T)
                    // dV (T, d) = P'ᵀ (T, T) · dO (T, d)
                    BLAS.sgemm(
                        transA: true, transB: false, m: T, n: d, k: T,
                        a: weights, lda: T, b: dO, ldb: C, beta: 0, c: dv, ldc: C3)
                    // dP' (T, T) = dO (T, d) · Vᵀ
                    BLAS.sgemm(
                        transA: false, transB: true, m: T, n: T, k: d,
                        a: dO, lda: C, b: v, ldb: C3, beta: 0, c: dP, ldc: T)
                    // softmax backward, in place: dS = P ⊙ (dP − Σ dP ⊙ P), through the dropout when there is one
                    if dropping {
                        for i in 0..<T { droppedSoftmaxBackward(dP + i * T, probabilities: p + i * T, dropped: weights + i * T, count: T) }
                    } else {
                        for i in 0..<T { softmaxBackward(dP + i * T, probabilities: p + i * T, count: T) }
                    }
                    // dQ (T, d) = dS (T, T) · K (T, d) · scale
                    BLAS.sgemm(
                        transA: false, transB: false, m: T, n: d, k: T, alpha: scale,
                        a: dP, lda: T, b: k, ldb: C3, beta: 0, c: dq, ldc: C3)
                    // dK (T, d) = dSᵀ · Q · scale
                    BLAS.sgemm(
                        transA: true, transB: false, m: T, n: d, k: T, alpha: scale,
                        a: dP, lda: T, b: q, ldb: C3, beta: 0, c: dk, ldc: C3)
                }
            }
        }
    }

    /// In place, one row, given dP' and P' = dropout(P): dS[j] ← P'[j] · dP'[j] − P[j] · Σₖ P'[k] · dP'[k].
    @inline(__always)
    static func droppedSoftmaxBackward(
        _ row: UnsafeMutablePointer<Float>, probabilities p: UnsafePointer<Float>,
        dropped: UnsafePointer<Float>, count T: Int
    ) {
        let dot = VectorMath.dot(dropped, row, T)
        let w = VectorMath.width, vectorEnd = T - T % w
        var j = 0
        while j < vectorEnd {
            VectorMath.store(VectorMath.load(dropped + j) * VectorMath.load(row + j) - VectorMath.load(p + j) * dot, row + j)
            j += w
        }
        while j < T {
            row[j] = dropped[j] * row[j] - p[j] * dot
            j += 1
        }
    }

    /// In place, one row: dS[j] ← P[j] · (dP[j] − Σₖ dP[k] · P[k]).
    @inline(__always)
    static func softmaxBackward(_ row: UnsafeMutablePointer<Float>, probabilities p: UnsafePointer<Float>, count T: Int) {
        let dot = VectorMath.dot(p, row, T)
        let w = VectorMath.width, vectorEnd = T - T % w
        var j = 0
        while j < vectorEnd {
            VectorMath.store(VectorMath.load(p + j) * (VectorMath.load(row + j) - dot), row + j)
            j += w
        }
        while j < T {
            row[j] = p[j] * (row[j] - dot)
            j += 1
        }
    }
}

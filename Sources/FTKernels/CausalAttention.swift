/// Grouped-query causal self-attention (Llama's `LlamaAttention`, eager path, no dropout):
/// `softmax(Q Kᵀ / √D + causal and key-padding mask) V` per query head, query head h reading the
/// keys and values of group `h / (NH / NKV)`.
///
/// Input is the fused projection `qkv (B, T, W)`, `W = (NH + 2·NKV)·D`, whose row holds
/// `[q (NH·D) | k (NKV·D) | v (NKV·D)]` (rotary embeddings already applied to q and k), so every
/// head's Q, K, V is a strided matrix BLAS reads in place. Sequences run across the slice threads.
public enum CausalAttention {
    /// The shape of one call: heads, key/value heads, head dimension.
    public struct Shape: Sendable {
        public let heads: Int
        public let keyValueHeads: Int
        public let headDimension: Int

        public init(heads: Int, keyValueHeads: Int, headDimension: Int) {
            self.heads = heads
            self.keyValueHeads = keyValueHeads
            self.headDimension = headDimension
        }

        /// Width of a qkv row.
        public var width: Int { (heads + 2 * keyValueHeads) * headDimension }
        /// Width of a context row (NH·D).
        public var contextWidth: Int { heads * headDimension }
        /// Query heads per key/value head; column offsets of head h's query, key and value in a qkv row.
        public var group: Int { heads / keyValueHeads }
        public func queryOffset(_ h: Int) -> Int { h * headDimension }
        public func keyOffset(_ h: Int) -> Int { (heads + h / group) * headDimension }
        public func valueOffset(_ h: Int) -> Int { (heads + keyValueHeads + h / group) * headDimension }
    }

    /// context (B, T, NH·D) ← attention over qkv (B, T, W); probabilities (B, NH, T, T) are kept
    /// for backward. Key j is attended from query i when j ≤ i and `attentionMask[b, j] != 0`;
    /// others get probability exactly 0. A query with no such key gets a zero context row.
    /// With `keepProbabilities` false, `probabilities` is a scratch of B·NH·T·T floats too (every
    /// head of every sequence may run at once). (sequence, head) pairs run across the slice threads.
    public static func forward(
        context: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, attentionMask: UnsafePointer<Int32>?,
        batch B: Int, sequence T: Int, shape: Shape
    ) {
        let D = shape.headDimension, W = shape.width, CO = shape.contextWidth, NH = shape.heads
        let scale = 1 / Float(D).squareRoot()
        Parallel.forEachSlice(of: B * NH) { units in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: T) { keepBuffer in
                let keep = keepBuffer.baseAddress!
                var keptSequence = -1, firstKept = T
                for unit in units {
                    let b = unit / NH, h = unit % NH
                    if b != keptSequence {
                        firstKept = fillKeep(keep, mask: attentionMask.map { $0 + b * T }, count: T)
                        keptSequence = b
                    }
                    let row = qkv + b * T * W
                    let p = probabilities + unit * T * T
                    BLAS.sgemm(
                        transA: false, transB: true, m: T, n: T, k: D, alpha: scale,
                        a: row + shape.queryOffset(h), lda: W, b: row + shape.keyOffset(h), ldb: W,
                        beta: 0, c: p, ldc: T)
                    for i in 0..<T { causalSoftmax(p + i * T, keep: keep, anyKey: firstKept <= i, visible: i + 1, count: T) }
                    BLAS.sgemm(
                        transA: false, transB: false, m: T, n: D, k: T,
                        a: p, lda: T, b: row + shape.valueOffset(h), ldb: W,
                        beta: 0, c: context + b * T * CO + h * D, ldc: CO)
                }
            }
        }
    }

    /// keep[j] ← 1 where mask[j] != 0 (every j without a mask), else 0; returns the first kept index (count when none).
    @inline(__always)
    static func fillKeep(_ keep: UnsafeMutablePointer<Float>, mask: UnsafePointer<Int32>?, count T: Int) -> Int {
        guard let mask else {
            keep.update(repeating: 1, count: T)
            return 0
        }
        var first = T
        for j in 0..<T {
            keep[j] = mask[j] != 0 ? 1 : 0
            if mask[j] != 0 && first == T { first = j }
        }
        return first
    }

    /// In place, one row of scores: the softmax over keys `j < visible` with keep[j] = 1 (vector
    /// code: `SelfAttention.maskedSoftmax`); every other entry 0 (all 0 when `anyKey` is false).
    @inline(__always)
    static func causalSoftmax(_ row: UnsafeMutablePointer<Float>, keep: UnsafePointer<Float>, anyKey: Bool, visible: Int, count T: Int) {
        if anyKey {
            SelfAttention.maskedSoftmax(row, keep: keep, count: visible)
            if visible < T { (row + visible).update(repeating: 0, count: T - visible) }
        } else {
            row.update(repeating: 0, count: T)
        }
    }

    /// dQKV (B, T, W) ← backward of `forward` given dContext (B, T, NH·D). Overwrites dQKV; the
    /// key and value gradients of a group sum over its query heads. `scratch` holds B·NKV·T·T
    /// floats: (sequence, key/value head) pairs run across the slice threads.
    ///
    /// dV = Pᵀ dO;  dP = dO Vᵀ;  dS = P ⊙ (dP − rowsum(dP ⊙ P));  dQ = dS K / √D;  dK = dSᵀ Q / √D.
    public static func backward(
        dQKV: UnsafeMutablePointer<Float>, dContext: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        batch B: Int, sequence T: Int, shape: Shape
    ) {
        let D = shape.headDimension, W = shape.width, CO = shape.contextWidth
        let NKV = shape.keyValueHeads, group = shape.group
        let scale = 1 / Float(D).squareRoot()
        Parallel.forEachSlice(of: B * NKV) { units in
            for unit in units {
                let b = unit / NKV, g = unit % NKV
                let dP = scratch + unit * T * T
                let row = qkv + b * T * W, dRow = dQKV + b * T * W
                for h in (g * group)..<((g + 1) * group) {
                    // The first query head of a group overwrites its keys' and values' gradients, the rest add.
                    let groupBeta: Float = h == g * group ? 0 : 1
                    let p = probabilities + (b * shape.heads + h) * T * T
                    let dO = dContext + b * T * CO + h * D
                    // dV (T, D) (+)= Pᵀ (T, T) · dO (T, D)
                    BLAS.sgemm(
                        transA: true, transB: false, m: T, n: D, k: T,
                        a: p, lda: T, b: dO, ldb: CO, beta: groupBeta, c: dRow + shape.valueOffset(h), ldc: W)
                    // dP (T, T) = dO · Vᵀ
                    BLAS.sgemm(
                        transA: false, transB: true, m: T, n: T, k: D,
                        a: dO, lda: CO, b: row + shape.valueOffset(h), ldb: W, beta: 0, c: dP, ldc: T)
                    for i in 0..<T { SelfAttention.softmaxBackward(dP + i * T, probabilities: p + i * T, count: T) }
                    // dQ (T, D) = dS · K · scale
                    BLAS.sgemm(
                        transA: false, transB: false, m: T, n: D, k: T, alpha: scale,
                        a: dP, lda: T, b: row + shape.keyOffset(h), ldb: W, beta: 0, c: dRow + shape.queryOffset(h), ldc: W)
                    // dK (T, D) (+)= dSᵀ · Q · scale
                    BLAS.sgemm(
                        transA: true, transB: false, m: T, n: D, k: T, alpha: scale,
                        a: dP, lda: T, b: row + shape.queryOffset(h), ldb: W, beta: groupBeta, c: dRow + shape.keyOffset(h), ldc: W)
                }
            }
        }
    }

    /// Inference with a key/value cache: context (N, NH·D) of N new queries at positions
    /// `past ..< past + N`, attending to cached keys and values (past + N rows each, NKV·D wide,
    /// the new ones already appended). `queries` rows are `queryStride` apart (a qkv row).
    /// `scratch` holds (past + N) floats per query row: N·(past + N).
    public static func forwardCached(
        context: UnsafeMutablePointer<Float>, queries: UnsafePointer<Float>, queryStride: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, past: Int, count N: Int,
        shape: Shape, scratch: UnsafeMutablePointer<Float>
    ) {
        let D = shape.headDimension, KW = shape.keyValueHeads * D, CO = shape.contextWidth
        let scale = 1 / Float(D).squareRoot()
        let S = past + N
        Parallel.forEachSlice(of: shape.heads) { heads in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: S) { ones in
                ones.initialize(repeating: 1)
                for h in heads {
                    let p = scratch + h * N * S
                    let g = h / shape.group
                    BLAS.sgemm(
                        transA: false, transB: true, m: N, n: S, k: D, alpha: scale,
                        a: queries + h * D, lda: queryStride, b: keys + g * D, ldb: KW, beta: 0, c: p, ldc: S)
                    for i in 0..<N { causalSoftmax(p + i * S, keep: ones.baseAddress!, anyKey: true, visible: past + i + 1, count: S) }
                    BLAS.sgemm(
                        transA: false, transB: false, m: N, n: D, k: S,
                        a: p, lda: S, b: values + g * D, ldb: KW, beta: 0, c: context + h * D, ldc: CO)
                }
            }
        }
    }
}

import FTCore

/// The keys and values a `LlamaModel` keeps of one sequence: per layer (capacity, NKV·D) each,
/// rotary embeddings applied to the keys, plus the scratch of `extend`.
public final class LlamaKeyValueCache: KeyValueCache, @unchecked Sendable {
    public private(set) var count = 0
    public let capacity: Int
    /// Per layer: (capacity, NKV·D).
    let keys: [UnsafeMutablePointer<Float>]
    let values: [UnsafeMutablePointer<Float>]
    private let arena: ScratchArena
    /// Per-call scratch, grown when a call needs more rows (prefill) or a longer past.
    private var scratch = ScratchArena()
    private(set) var scratchRows = 0
    private(set) var scratchPositions = 0
    private(set) var residual, normed, qkv, context, branch, gateUp, hidden, scores: UnsafeMutablePointer<Float>
    let logits: UnsafeMutablePointer<Float>
    let rstd: UnsafeMutablePointer<Float>
    let config: LlamaConfig

    init(config: LlamaConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        let KW = config.keyValueWidth
        let arena = ScratchArena()
        self.arena = arena
        keys = (0..<config.numHiddenLayers).map { _ in arena.floats(capacity * KW) }
        values = (0..<config.numHiddenLayers).map { _ in arena.floats(capacity * KW) }
        logits = arena.floats(config.vocabSize)
        rstd = arena.floats(capacity)
        let p = arena.floats(1)
        (residual, normed, qkv, context, branch, gateUp, hidden, scores) = (p, p, p, p, p, p, p, p)
    }

    public func reset() { count = 0 }

    /// Plans scratch for `rows` new tokens after `past` cached ones.
    func reserve(rows n: Int, past: Int) {
        guard n > scratchRows || past + n > scratchPositions else { return }
        let rows = max(n, scratchRows), positions = max(past + n, scratchPositions)
        let C = config.hiddenSize, F = config.intermediateSize, QW = config.queryWidth
        let W = QW + 2 * config.keyValueWidth
        scratch = ScratchArena()
        residual = scratch.floats(rows * C)
        normed = scratch.floats(rows * C)
        qkv = scratch.floats(rows * W)
        context = scratch.floats(rows * QW)
        branch = scratch.floats(rows * C)
        gateUp = scratch.floats(rows * 2 * F)
        hidden = scratch.floats(rows * F)
        scores = scratch.floats(config.numAttentionHeads * rows * positions)
        scratchRows = rows
        scratchPositions = positions
    }

    func advance(by n: Int) { count += n }
}

extension LlamaModel {
    /// A key/value cache for one sequence of up to `capacity` positions.
    /// - Throws: `ModelError.badInput` when capacity is outside 1 ... max_position_embeddings.
    public func makeCache(capacity: Int) throws -> any KeyValueCache {
        guard capacity >= 1, capacity <= config.maxPositionEmbeddings else {
            throw ModelError.badInput("cache capacity \(capacity) is outside 1 ... max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        return LlamaKeyValueCache(config: config, capacity: capacity)
    }

    /// Runs `tokens` at positions `cache.count ..< cache.count + tokens.count` (inference: no
    /// dropout, nothing kept for backward), appends their keys and values and returns the (V)
    /// logits of the last one, valid until the next call. It uses scratch of its own (the cache's
    /// and LoRA's), so generating between a training forward and its backward changes neither.
    /// - Throws: `ModelError.badInput` for a cache of another model, too many tokens, or an id
    ///   outside the vocabulary.
    public func extend(cache anyCache: any KeyValueCache, tokens: UnsafeBufferPointer<Int32>) throws -> UnsafePointer<Float> {
        guard let cache = anyCache as? LlamaKeyValueCache, cache.config == config else {
            throw ModelError.badInput("the cache was not made by this model (makeCache(capacity:))")
        }
        let n = tokens.count, past = cache.count
        guard n >= 1 else { throw ModelError.badInput("extend needs at least one token") }
        guard past + n <= cache.capacity else {
            throw ModelError.badInput("\(n) tokens after \(past) do not fit a cache of \(cache.capacity) positions")
        }
        try checkInput(tokens.baseAddress!, count: n, sequence: 1)
        refreshSlots()
        cache.reserve(rows: n, past: past)
        let loraScratch = lora?.inferenceScratch(tokens: n)
        let C = config.hiddenSize, F = config.intermediateSize, QW = config.queryWidth, KW = config.keyValueWidth
        let W = QW + 2 * KW
        let shape = CausalAttention.Shape(
            heads: config.numAttentionHeads, keyValueHeads: config.numKeyValueHeads, headDimension: config.headDim)
        let x = cache.residual
        for i in 0..<n { (x + i * C).update(from: embedding.value + Int(tokens[i]) * C, count: C) }
        for l in 0..<config.numHiddenLayers {
            let s = slots[l]
            RMSNorm.forward(
                output: cache.normed, rstd: cache.rstd, input: x, weight: s.inputNorm.value, rows: n, channels: C,
                epsilon: config.rmsNormEps)
            tokenProduct(rows: n, outputs: W, inputs: C, input: cache.normed, weight: s.weights[0].value, output: cache.qkv)
            lora?.forward([.q, .k, .v], layer: l, input: cache.normed, output: cache.qkv, width: W, rows: n, inferenceScratch: loraScratch)
            cosTable.withUnsafeBufferPointer { cos in
                sinTable.withUnsafeBufferPointer { sin in
                    RotaryEmbedding.apply(
                        cache.qkv, rows: n, stride: W, sequence: n, firstPosition: past,
                        heads: config.numAttentionHeads + config.numKeyValueHeads, headDimension: config.headDim,
                        cos: cos.baseAddress!, sin: sin.baseAddress!)
                }
            }
            for i in 0..<n {
                (cache.keys[l] + (past + i) * KW).update(from: cache.qkv + i * W + QW, count: KW)
                (cache.values[l] + (past + i) * KW).update(from: cache.qkv + i * W + QW + KW, count: KW)
            }
            CausalAttention.forwardCached(
                context: cache.context, queries: cache.qkv, queryStride: W, keys: cache.keys[l], values: cache.values[l],
                past: past, count: n, shape: shape, scratch: cache.scores)
            tokenProduct(rows: n, outputs: C, inputs: QW, input: cache.context, weight: s.weights[3].value, output: cache.branch)
            lora?.forward([.o], layer: l, input: cache.context, output: cache.branch, width: C, rows: n, inferenceScratch: loraScratch)
            add(x, x, cache.branch, n * C)
            RMSNorm.forward(
                output: cache.normed, rstd: cache.rstd, input: x, weight: s.postAttentionNorm.value, rows: n, channels: C,
                epsilon: config.rmsNormEps)
            tokenProduct(rows: n, outputs: 2 * F, inputs: C, input: cache.normed, weight: s.weights[4].value, output: cache.gateUp)
            lora?.forward([.gate, .up], layer: l, input: cache.normed, output: cache.gateUp, width: 2 * F, rows: n, inferenceScratch: loraScratch)
            SwiGLU.forward(output: cache.hidden, gateUp: cache.gateUp, rows: n, features: F)
            tokenProduct(rows: n, outputs: C, inputs: F, input: cache.hidden, weight: s.weights[6].value, output: cache.branch)
            lora?.forward([.down], layer: l, input: cache.hidden, output: cache.branch, width: C, rows: n, inferenceScratch: loraScratch)
            add(x, x, cache.branch, n * C)
        }
        cache.advance(by: n)
        // The last position only: its norm and the output projection.
        let last = x + (n - 1) * C
        RMSNorm.forward(
            output: cache.normed, rstd: cache.rstd, input: last, weight: finalNorm.value, rows: 1, channels: C,
            epsilon: config.rmsNormEps)
        tokenProduct(rows: 1, outputs: config.vocabSize, inputs: C, input: cache.normed, weight: head.value, output: cache.logits)
        return UnsafePointer(cache.logits)
    }

    /// output (n, outputs) = input (n, inputs) · weightᵀ, weight (outputs, inputs): one token (a
    /// decode step, the output projection) as a matrix-vector product split over the weight's rows
    /// (`Parallel.sgemv`: decoding streams every weight once per token, and gemm's packing of a
    /// one-row product read them twice), a prompt as a product split over its rows.
    func tokenProduct(
        rows n: Int, outputs: Int, inputs: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        if n == 1 {
            Parallel.sgemv(n: outputs, k: inputs, w: weight, ldw: inputs, x: input, beta: 0, y: output)
        } else {
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: true, m: n, n: outputs, k: inputs, a: input, lda: inputs, b: weight, ldb: inputs,
                beta: 0, c: output, ldc: outputs)
        }
    }
}

import FTCore

/// Every activation buffer of one forward/backward pass, planned once for a maximum batch shape
/// and reused each step. Training keeps one cache per layer for backward; inference reuses a
/// single layer cache and ping-pongs two hidden-state buffers.
final class EncoderWorkspace {
    /// Per-layer forward cache (what backward needs, and says so).
    struct LayerCache {
        var qkv: UnsafeMutablePointer<Float>  // (N, 3C) fused projections; (N, 3A) with pruned heads
        var probabilities: UnsafeMutablePointer<Float>  // (B, NH, T, T) attention softmax; inference: (B, T, T) scratch
        var context: UnsafeMutablePointer<Float>  // (N, C) heads concatenated; (N, A) with pruned heads
        var residual1: UnsafeMutablePointer<Float>  // (N, C) attention output + input: LN1 input
        var mean1: UnsafeMutablePointer<Float>  // (N)
        var rstd1: UnsafeMutablePointer<Float>  // (N)
        var hidden1: UnsafeMutablePointer<Float>  // (N, C) LN1 output
        var intermediate: UnsafeMutablePointer<Float>  // (N, I) before the bias and GELU
        var activated: UnsafeMutablePointer<Float>  // (N, I) after GELU
        var residual2: UnsafeMutablePointer<Float>  // (N, C) FFN output + hidden1: LN2 input
        var mean2: UnsafeMutablePointer<Float>  // (N)
        var rstd2: UnsafeMutablePointer<Float>  // (N)
    }

    let arena = ScratchArena()
    let maxBatch: Int
    let maxSequence: Int
    let training: Bool

    let inputIds: UnsafeMutablePointer<Int32>  // (N) copies, for the embedding backward
    let tokenTypeIds: UnsafeMutablePointer<Int32>  // (N)
    let attentionMask: UnsafeMutablePointer<Int32>  // (N)
    let embeddingSum: UnsafeMutablePointer<Float>  // (N, C) embeddings LN input
    let embeddingMean: UnsafeMutablePointer<Float>  // (N)
    let embeddingRstd: UnsafeMutablePointer<Float>  // (N)
    /// Hidden states: `hidden[0]` is the embeddings' output, `hidden[l + 1]` layer l's output
    /// (training); inference alternates two buffers.
    let hidden: [UnsafeMutablePointer<Float>]  // each (N, C)
    let layers: [LayerCache]
    let clsRows: UnsafeMutablePointer<Float>  // (B, C) first token of the last layer
    let pooled: UnsafeMutablePointer<Float>  // (B, C) pooler output (after tanh)
    let pooledDropped: UnsafeMutablePointer<Float>  // (B, C) classifier input (pooled after dropout)
    let logits: UnsafeMutablePointer<Float>  // (B, L) classifier output; (B, T, L) with a token head
    let tokenClassifierInput: UnsafeMutablePointer<Float>  // (N, C) last hidden state after dropout (token head only)
    let droppedProbabilities: UnsafeMutablePointer<Float>  // (B, T, T) one head's probabilities after dropout, per row

    // Backward scratch (training only).
    let dHiddenA: UnsafeMutablePointer<Float>  // (N, C)
    let dHiddenB: UnsafeMutablePointer<Float>  // (N, C)
    let dResidual: UnsafeMutablePointer<Float>  // (N, C)
    let dContext: UnsafeMutablePointer<Float>  // (N, C)
    let dQKV: UnsafeMutablePointer<Float>  // (N, 3C)
    let dIntermediate: UnsafeMutablePointer<Float>  // (N, I)
    let dScores: UnsafeMutablePointer<Float>  // (B, T, T) a (T, T) per sequence running at once
    let dDroppedScores: UnsafeMutablePointer<Float>  // (B, T, T) probabilities after dropout, regenerated
    let dBranch: UnsafeMutablePointer<Float>  // (N, C) gradient of a dropped residual branch
    let dPooled: UnsafeMutablePointer<Float>  // (B, C)
    let dCls: UnsafeMutablePointer<Float>  // (B, C)

    init(config: EncoderConfig, labels: Int, tokenHead: Bool = false, maxBatch B: Int, maxSequence T: Int, training: Bool) {
        maxBatch = B
        maxSequence = T
        self.training = training
        let N = B * T, C = config.hiddenSize, I = config.intermediateSize, NH = config.numAttentionHeads
        let a = arena
        inputIds = a.int32s(N)
        tokenTypeIds = a.int32s(N)
        attentionMask = a.int32s(N)
        embeddingSum = a.floats(N * C)
        embeddingMean = a.floats(N)
        embeddingRstd = a.floats(N)
        hidden = (0..<(training ? config.numHiddenLayers + 1 : 2)).map { _ in a.floats(N * C) }
        layers = (0..<(training ? config.numHiddenLayers : 1)).map { _ in
            LayerCache(
                qkv: a.floats(N * 3 * C), probabilities: a.floats(B * (training ? NH : 1) * T * T),
                context: a.floats(N * C), residual1: a.floats(N * C),
                mean1: a.floats(N), rstd1: a.floats(N), hidden1: a.floats(N * C),
                intermediate: a.floats(N * I), activated: a.floats(N * I),
                residual2: a.floats(N * C), mean2: a.floats(N), rstd2: a.floats(N))
        }
        clsRows = a.floats(B * C)
        pooled = a.floats(B * C)
        pooledDropped = a.floats(B * C)
        logits = a.floats((tokenHead ? N : B) * max(labels, 1))
        tokenClassifierInput = a.floats(tokenHead ? N * C : 0)
        droppedProbabilities = a.floats(training ? B * T * T : 0)
        let n = training ? N : 0
        dHiddenA = a.floats(n * C)
        dHiddenB = a.floats(n * C)
        dResidual = a.floats(n * C)
        dContext = a.floats(n * C)
        dQKV = a.floats(n * 3 * C)
        dIntermediate = a.floats(n * I)
        dScores = a.floats(training ? B * T * T : 0)
        dDroppedScores = a.floats(training ? B * T * T : 0)
        dBranch = a.floats(n * C)
        dPooled = a.floats(training ? B * C : 0)
        dCls = a.floats(training ? B * C : 0)
    }

    func fits(batch: Int, sequence: Int, training: Bool) -> Bool {
        batch <= maxBatch && sequence <= maxSequence && (self.training || !training)
    }

    /// The output buffer of layer `l` (its input is `hiddenIn(l)`).
    func hiddenOut(_ l: Int) -> UnsafeMutablePointer<Float> { training ? hidden[l + 1] : hidden[(l + 1) % 2] }
    func hiddenIn(_ l: Int) -> UnsafeMutablePointer<Float> { training ? hidden[l] : hidden[l % 2] }
    func cache(_ l: Int) -> LayerCache { training ? layers[l] : layers[0] }

    /// Layer `l`'s cache seen from token `o` on (and probability row block `p`): what one batch
    /// slice of a parallel forward writes. Its qkv rows are 3A wide and its context rows A, for
    /// the layer's attention width A (C unless heads were pruned), but where the slice starts
    /// depends on the plan:
    /// - training: layer `l` has a cache of its own, packed (N, 3A) and (N, A) as backward reads
    ///   it, so slices start at `o · 3A` and `o · A`;
    /// - inference: one cache serves every layer and slices run unsynchronised, so slice s may be
    ///   in layer 1 while slice s + 1 is still in layer 0. Slices start at `o · 3C` and `o · C`,
    ///   the same for every layer: offsets by each layer's own A made the slices of layers of
    ///   different widths overlap, and one slice's queries or context were overwritten by another's.
    func sliceCache(_ l: Int, tokens o: Int, channels C: Int, attention A: Int, intermediate I: Int, probabilities p: Int) -> LayerCache {
        cache(l).offset(tokens: o, channels: C, attentionStride: training ? A : C, intermediate: I, probabilities: p)
    }
}

extension EncoderWorkspace.LayerCache {
    /// The same cache seen from token `tokens` on (and probability row block `probabilities`),
    /// with qkv starting `3S` and context `S` floats per token in (`EncoderWorkspace.sliceCache`).
    func offset(tokens o: Int, channels C: Int, attentionStride S: Int, intermediate I: Int, probabilities p: Int) -> Self {
        Self(
            qkv: qkv + o * 3 * S, probabilities: probabilities + p, context: context + o * S,
            residual1: residual1 + o * C, mean1: mean1 + o, rstd1: rstd1 + o, hidden1: hidden1 + o * C,
            intermediate: intermediate + o * I, activated: activated + o * I, residual2: residual2 + o * C,
            mean2: mean2 + o, rstd2: rstd2 + o)
    }
}

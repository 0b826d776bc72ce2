import FTCore

/// What one forward keeps for backward, planned per (B, T) and reused while the batch shape
/// does not grow (no allocation per step). Training keeps every layer's activations; inference
/// keeps one layer's, reused layer after layer.
final class LlamaWorkspace {
    /// One layer's activations over N = B·T rows.
    struct Layer {
        /// (N, C) the residual stream entering the layer.
        let input: UnsafeMutablePointer<Float>
        /// (N) 1/rms of `input`, and (N, C) the normalised input of the attention block.
        let rstd1: UnsafeMutablePointer<Float>
        let normed1: UnsafeMutablePointer<Float>
        /// (N, W) q | k | v, rotary embeddings applied to q and k.
        let qkv: UnsafeMutablePointer<Float>
        /// (B, NH, T, T) attention probabilities (kept for backward in training).
        let probabilities: UnsafeMutablePointer<Float>
        /// (N, NH·D) heads' outputs, concatenated.
        let context: UnsafeMutablePointer<Float>
        /// (N, C) the residual stream after the attention block.
        let middle: UnsafeMutablePointer<Float>
        /// (N) and (N, C): the feed-forward block's normalisation.
        let rstd2: UnsafeMutablePointer<Float>
        let normed2: UnsafeMutablePointer<Float>
        /// (N, 2F) gate | up projections, and (N, F) silu(gate) · up.
        let gateUp: UnsafeMutablePointer<Float>
        let hidden: UnsafeMutablePointer<Float>
    }

    let batch: Int
    let sequence: Int
    let training: Bool
    private let arena: ScratchArena
    /// Per layer (training) or one shared entry (inference).
    let layers: [Layer]
    /// (N, C) the residual stream after the last layer, its (N) rstd and (N, C) normalised rows.
    let output: UnsafeMutablePointer<Float>
    let finalRstd: UnsafeMutablePointer<Float>
    let finalNormed: UnsafeMutablePointer<Float>
    /// (N, V).
    let logits: UnsafeMutablePointer<Float>
    /// (N, C) a projection's output before it joins the residual stream.
    let branch: UnsafeMutablePointer<Float>
    /// (B, T) copies of the ids and mask of the pass (backward's embedding scatter reads the ids).
    let inputIds: UnsafeMutablePointer<Int32>
    // Backward scratch (training only).
    let dResidual: UnsafeMutablePointer<Float>
    let dNormed: UnsafeMutablePointer<Float>
    let dQKV: UnsafeMutablePointer<Float>
    let dContext: UnsafeMutablePointer<Float>
    let dGateUp: UnsafeMutablePointer<Float>
    let dHidden: UnsafeMutablePointer<Float>
    let attentionScratch: UnsafeMutablePointer<Float>

    init(config: LlamaConfig, batch B: Int, sequence T: Int, training: Bool) {
        batch = B
        sequence = T
        self.training = training
        let N = B * T, C = config.hiddenSize, F = config.intermediateSize
        let W = config.queryWidth + 2 * config.keyValueWidth, QW = config.queryWidth
        let NH = config.numAttentionHeads
        let arena = ScratchArena()
        self.arena = arena
        func layer(input: UnsafeMutablePointer<Float>, middle: UnsafeMutablePointer<Float>) -> Layer {
            Layer(
                input: input, rstd1: arena.floats(N), normed1: arena.floats(N * C), qkv: arena.floats(N * W),
                probabilities: arena.floats(B * NH * T * T), context: arena.floats(N * QW),
                middle: middle, rstd2: arena.floats(N), normed2: arena.floats(N * C), gateUp: arena.floats(N * 2 * F),
                hidden: arena.floats(N * F))
        }
        if training {
            var inputs = (0...config.numHiddenLayers).map { _ in arena.floats(N * C) }
            output = inputs.removeLast()
            layers = inputs.map { layer(input: $0, middle: arena.floats(N * C)) }
        } else {
            // One residual buffer, updated in place block after block.
            output = arena.floats(N * C)
            layers = [layer(input: output, middle: output)]
        }
        finalRstd = arena.floats(N)
        finalNormed = arena.floats(N * C)
        logits = arena.floats(N * config.vocabSize)
        branch = arena.floats(N * C)
        inputIds = arena.int32s(N)
        let backwardRows = training ? N : 0
        dResidual = arena.floats(backwardRows * C)
        dNormed = arena.floats(backwardRows * C)
        dQKV = arena.floats(backwardRows * W)
        dContext = arena.floats(backwardRows * QW)
        dGateUp = arena.floats(backwardRows * 2 * F)
        dHidden = arena.floats(backwardRows * F)
        attentionScratch = arena.floats(training ? B * config.numKeyValueHeads * T * T : 0)
    }

    /// The activations of layer `l`.
    func layer(_ l: Int) -> Layer { training ? layers[l] : layers[0] }

    /// Whether this plan serves a pass of (B, T) in this mode.
    func fits(batch B: Int, sequence T: Int, training: Bool) -> Bool {
        B == batch && T == sequence && training == self.training
    }
}

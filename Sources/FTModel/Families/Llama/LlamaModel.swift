import FTCore

/// A Llama-architecture decoder (`LlamaForCausalLM`: SmolLM2, TinyLlama, Llama): token
/// embeddings, pre-norm layers of grouped-query causal self-attention with rotary positions and a
/// SwiGLU feed-forward block, a final RMSNorm and the output projection (the embedding table
/// itself when the embeddings are tied).
///
/// Parameters live in one `ParameterStore` under `LlamaForCausalLM.state_dict()`'s names, in
/// layer order (q, k, v side by side and gate, up side by side, each group one product); LoRA's
/// tensors follow their layer's. Passes are llm.c style: `forward(training: true)` keeps every
/// layer's activations (`LlamaWorkspace`), `backward` accumulates gradients layer by layer down.
/// reference: transformers `models/llama/modeling_llama.py` (eager attention).
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let store: ParameterStore
    /// The LoRA branches, when built with LoRA.
    public let lora: LlamaLoRA?
    /// The parameter-efficient modules it was built with (LoRA only).
    public let peft: PEFTModules?
    /// (maxPositions, D/2) rotary tables.
    let cosTable: [Float]
    let sinTable: [Float]
    var workspace: LlamaWorkspace?
    var lastTraining = false
    private var slotsGeneration = -1
    var slots: [LayerSlots] = []
    var embedding = TensorSlot(value: UnsafeMutablePointer<Float>.allocate(capacity: 1), gradient: nil)
    var finalNorm = TensorSlot(value: UnsafeMutablePointer<Float>.allocate(capacity: 1), gradient: nil)
    var head = TensorSlot(value: UnsafeMutablePointer<Float>.allocate(capacity: 1), gradient: nil)
    /// Layers below this one need no input gradient (nothing trainable under them).
    var lowestLayerNeedingInputGradient = 0
    /// The library of the float32 products of the layers and the output projection (not LoRA's
    /// rank-r ones): oneDNN, faster on these shapes (`OneDNNFloat32`), unless
    /// `FTTRAIN_FLOAT32_KERNEL=openblas`.
    public var float32Kernel = Float32Kernel.fromEnvironment(default: .oneDNN)
    /// Where each pass's parts go as timeline spans (embeddings, every layer, the head); nil: none.
    public var spanRecorder: (any ModelSpanRecorder)?

    /// The typed pointers of one layer.
    struct LayerSlots {
        let inputNorm, postAttentionNorm: TensorSlot
        /// Per `LlamaLinearModule`.
        let weights: [TensorSlot]
        /// The q|k|v and gate|up weights' gradients as one matrix, when all parts are trainable.
        let qkvGradient, gateUpGradient: UnsafeMutablePointer<Float>?
    }

    /// Builds a zero-filled model of `config` (weights come from `load` or `initializeRandomly`);
    /// `peft` adds LoRA tensors (zero until initialised or loaded).
    /// - Throws: `ModelError.badConfig` for an invalid config, a bottleneck setup, or LoRA targets
    ///   that match no module of a Llama layer.
    public init(config: LlamaConfig, peft: PEFTSetup? = nil) throws {
        try config.validate(source: "llama config")
        if peft?.bottleneck != nil {
            throw ModelError.badConfig("peft", "bottleneck adapters are not supported for llama (use LoRA)")
        }
        self.config = config
        let loraLayout = peft?.lora.map { LlamaLoRA.layout(config: config, lora: $0) }
        if let lora = peft?.lora, loraLayout?.joined().isEmpty ?? true {
            throw ModelError.badConfig(
                "lora_target_modules",
                "\(lora.targetModules) match no linear module of llama (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)")
        }
        let store = ParameterStore(layout: Self.layout(config: config, lora: loraLayout))
        self.store = store
        let lora = peft?.lora.map { LlamaLoRA(configuration: $0, config: config, store: store) }
        self.lora = lora
        self.peft = peft.map { PEFTModules(setup: $0, lora: lora) }
        let half = config.headDim / 2
        var cos = [Float](repeating: 0, count: config.maxPositionEmbeddings * half), sin = cos
        RotaryEmbedding.tables(
            cos: &cos, sin: &sin, positions: config.maxPositionEmbeddings, headDimension: config.headDim, base: config.ropeTheta)
        cosTable = cos
        sinTable = sin
        refreshSlots()
    }

    /// The store layout: embeddings, each layer (then its LoRA tensors), the final norm, the untied head.
    static func layout(config: LlamaConfig, lora: [[(name: String, shape: [Int])]]?) -> [(name: String, shape: [Int])] {
        let C = config.hiddenSize
        var layout: [(name: String, shape: [Int])] = [(LlamaTensorNames.embedTokens, [config.vocabSize, C])]
        for l in 0..<config.numHiddenLayers {
            layout.append((LlamaTensorNames.inputNorm(l), [C]))
            for module in [LlamaLinearModule.q, .k, .v, .o] {
                let (inputs, outputs) = module.dimensions(config)
                layout.append((LlamaTensorNames.weight(l, module), [outputs, inputs]))
            }
            layout.append((LlamaTensorNames.postAttentionNorm(l), [C]))
            for module in [LlamaLinearModule.gate, .up, .down] {
                let (inputs, outputs) = module.dimensions(config)
                layout.append((LlamaTensorNames.weight(l, module), [outputs, inputs]))
            }
            layout += lora?[l] ?? []
        }
        layout.append((LlamaTensorNames.finalNorm, [C]))
        if !config.tieWordEmbeddings { layout.append((LlamaTensorNames.lmHead, [config.vocabSize, C])) }
        return layout
    }

    /// Rebuilds the typed pointers after the store's gradient buffer moved (`setTrainable`).
    func refreshSlots() {
        guard slotsGeneration != store.generation else { return }
        slotsGeneration = store.generation
        slots = (0..<config.numHiddenLayers).map { l in
            let names = LlamaLinearModule.allCases.map { LlamaTensorNames.weight(l, $0) }
            return LayerSlots(
                inputNorm: store.slot(LlamaTensorNames.inputNorm(l)),
                postAttentionNorm: store.slot(LlamaTensorNames.postAttentionNorm(l)),
                weights: names.map { store.slot($0) },
                qkvGradient: store.gradient(spanning: Array(names[0...2])),
                gateUpGradient: store.gradient(spanning: Array(names[4...5])))
        }
        embedding = store.slot(LlamaTensorNames.embedTokens)
        finalNorm = store.slot(LlamaTensorNames.finalNorm)
        head = config.tieWordEmbeddings ? embedding : store.slot(LlamaTensorNames.lmHead)
        // The lowest layer whose input gradient something trainable needs.
        var lowest = config.numHiddenLayers
        if embedding.gradient != nil {
            lowest = 0
        } else {
            for view in store.views where view.isTrainable {
                if let l = LlamaTensorNames.layer(ofTensor: view.name) { lowest = min(lowest, l + 1) }
            }
        }
        lowestLayerNeedingInputGradient = lowest
    }

    /// Keeps gradient storage for the tensors `isTrainable` accepts only.
    public func setTrainable(_ isTrainable: (String) -> Bool) {
        store.setTrainable(isTrainable)
        refreshSlots()
    }

    /// Hugging Face's `_init_weights`: normal(0, std) for the embeddings and linear weights, 1 for
    /// the norms; LoRA tensors by PEFT's rule (A Kaiming-uniform, B zero). `only`: those names.
    public func initializeRandomly(rng: inout SeededRNG, standardDeviation: Float = 0.02, only: Set<String>? = nil) {
        for view in store.views where only?.contains(view.name) ?? true {
            guard !LoRALayers.isLoRATensor(view.name) else { continue }
            let p = store.value(view.name)
            if view.shape.count == 1 {
                p.update(repeating: 1, count: view.count)
            } else {
                for i in 0..<view.count { p[i] = rng.nextNormal() * standardDeviation }
            }
        }
        if only == nil { lora?.initialize(rng: &rng) }
    }

    // MARK: - Forward

    /// Checks ids against the vocabulary and the length against the positions.
    func checkInput(_ ids: UnsafePointer<Int32>, count: Int, sequence T: Int) throws {
        guard T <= config.maxPositionEmbeddings else {
            throw ModelError.badInput("sequence length \(T) exceeds max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        for i in 0..<count where ids[i] < 0 || Int(ids[i]) >= config.vocabSize {
            throw ModelError.badInput("token id \(ids[i]) is outside the vocabulary (0 ..< \(config.vocabSize))")
        }
    }

    /// One pass over (B, T) ids with a key-padding mask (1 = real token; right padding), positions
    /// 0 ..< T. Returns the (B, T, V) logits, valid until the next call.
    public func forwardLogits(
        inputIds: UnsafePointer<Int32>, attentionMask: UnsafePointer<Int32>?, batch B: Int, sequence T: Int,
        training: Bool, dropoutSeed: UInt64 = 0
    ) throws -> UnsafePointer<Float> {
        try checkInput(inputIds, count: B * T, sequence: T)
        refreshSlots()
        if !(workspace?.fits(batch: B, sequence: T, training: training) ?? false) {
            let maxBatch = max(B, workspace?.maxBatch ?? 0), maxSequence = max(T, workspace?.maxSequence ?? 0)
            workspace = nil  // free the old plan before making the new one
            workspace = LlamaWorkspace(config: config, maxBatch: maxBatch, maxSequence: maxSequence, training: training)
        }
        let ws = workspace!
        ws.batch = B
        ws.sequence = T
        lastTraining = training
        let N = B * T, C = config.hiddenSize, F = config.intermediateSize
        let QW = config.queryWidth, W = QW + 2 * config.keyValueWidth
        lora?.prepare(tokens: N, training: training, dropoutSeed: dropoutSeed)
        ws.inputIds.update(from: inputIds, count: N)
        let shape = CausalAttention.Shape(
            heads: config.numAttentionHeads, keyValueHeads: config.numKeyValueHeads, headDimension: config.headDim)

        var spans = ModelSpanMarks(spanRecorder, backward: false)
        // Embeddings.
        let first = ws.layer(0).input
        for n in 0..<N { (first + n * C).update(from: embedding.value + Int(inputIds[n]) * C, count: C) }
        spans.end(.embeddings)

        for l in 0..<config.numHiddenLayers {
            let a = ws.layer(l), s = slots[l]
            // Attention block.
            RMSNorm.forward(
                output: a.normed1, rstd: a.rstd1, input: a.input, weight: s.inputNorm.value, rows: N, channels: C,
                epsilon: config.rmsNormEps)
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: true, m: N, n: W, k: C, a: a.normed1, lda: C, b: s.weights[0].value, ldb: C,
                beta: 0, c: a.qkv, ldc: W)
            lora?.forward([.q, .k, .v], layer: l, input: a.normed1, output: a.qkv, width: W, rows: N)
            cosTable.withUnsafeBufferPointer { cos in
                sinTable.withUnsafeBufferPointer { sin in
                    RotaryEmbedding.apply(
                        a.qkv, rows: N, stride: W, sequence: T, heads: config.numAttentionHeads + config.numKeyValueHeads,
                        headDimension: config.headDim, cos: cos.baseAddress!, sin: sin.baseAddress!)
                }
            }
            CausalAttention.forward(
                context: a.context, probabilities: a.probabilities, qkv: a.qkv, attentionMask: attentionMask,
                batch: B, sequence: T, shape: shape)
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: true, m: N, n: C, k: QW, a: a.context, lda: QW, b: s.weights[3].value, ldb: QW,
                beta: 0, c: ws.branch, ldc: C)
            lora?.forward([.o], layer: l, input: a.context, output: ws.branch, width: C, rows: N)
            add(a.middle, a.input, ws.branch, N * C)
            // Feed-forward block.
            RMSNorm.forward(
                output: a.normed2, rstd: a.rstd2, input: a.middle, weight: s.postAttentionNorm.value, rows: N, channels: C,
                epsilon: config.rmsNormEps)
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: true, m: N, n: 2 * F, k: C, a: a.normed2, lda: C, b: s.weights[4].value, ldb: C,
                beta: 0, c: a.gateUp, ldc: 2 * F)
            lora?.forward([.gate, .up], layer: l, input: a.normed2, output: a.gateUp, width: 2 * F, rows: N)
            SwiGLU.forward(output: a.hidden, gateUp: a.gateUp, rows: N, features: F)
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: true, m: N, n: C, k: F, a: a.hidden, lda: F, b: s.weights[6].value, ldb: F,
                beta: 0, c: ws.branch, ldc: C)
            lora?.forward([.down], layer: l, input: a.hidden, output: ws.branch, width: C, rows: N)
            let next = l + 1 < config.numHiddenLayers ? ws.layer(l + 1).input : ws.output
            add(next, a.middle, ws.branch, N * C)
            spans.end(.layer(l))
        }
        RMSNorm.forward(
            output: ws.finalNormed, rstd: ws.finalRstd, input: ws.output, weight: finalNorm.value, rows: N, channels: C,
            epsilon: config.rmsNormEps)
        Parallel.sgemm(
            float32Kernel: float32Kernel, transA: false, transB: true, m: N, n: config.vocabSize, k: C, a: ws.finalNormed, lda: C, b: head.value,
            ldb: C,
            beta: 0, c: ws.logits, ldc: config.vocabSize)
        spans.end(.head)
        return UnsafePointer(ws.logits)
    }

    /// out = a + b over n floats (out may alias a).
    func add(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
        Parallel.forEachSlice(of: n, granularity: 256) { range in
            for i in range { out[i] = a[i] + b[i] }
        }
    }
}

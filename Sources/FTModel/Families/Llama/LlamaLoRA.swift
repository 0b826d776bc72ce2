import FTCore

/// PEFT's LoRA on the linear modules of a `LlamaModel` (`target_modules` among q_proj, k_proj,
/// v_proj, o_proj, gate_proj, up_proj, down_proj, matched against the full module names
/// `model.layers.N.self_attn.q_proj` as PEFT matches them).
///
/// A and B live in the model's store right after the tensors of their layer
/// (`model.layers.0.self_attn.q_proj.lora_A.weight (r, in)`, `...lora_B.weight (out, r)`), so a
/// layer's trainable gradients stay together. Per targeted module, with x its input (N, in):
///
///     forward   x̃ = dropout(x);  u = x̃ · Aᵀ (N, r), kept;  y += s · u · Bᵀ
///     backward  dB += s · dyᵀ · u;  du = s · dy · B;  dA += duᵀ · x̃;  dx += dropout'(du · A)
///
/// reference: PEFT `lora/layer.py` `Linear.forward`.
public final class LlamaLoRA: @unchecked Sendable {
    public let configuration: LoRAConfiguration
    /// The targeted modules of each layer.
    public let targets: [[LlamaLinearModule]]
    /// True while `s · B A` is added into the base weights.
    public var isMerged: Bool { weights.isMerged }
    let config: LlamaConfig
    let store: ParameterStore
    private let scaling: Float
    private let aNames: [[String]]
    private let bNames: [[String]]
    /// A, B and the base weight of every branch: their initialisation and merging.
    private let weights: LoRABranchWeights
    private var arena = ScratchArena()
    private var capacity = 0
    private var lowRank: [[UnsafeMutablePointer<Float>]] = []
    private var lowRankGradient: UnsafeMutablePointer<Float>?
    private var droppedInput: UnsafeMutablePointer<Float>?
    private var inputGradient: UnsafeMutablePointer<Float>?
    private var training = false
    private var dropoutSeed: UInt64 = 0
    /// The generation path's own (tokens, r) scratch, so `extend` between a training forward and
    /// its backward leaves the training caches (and the dropout state) alone.
    private var inferenceArena = ScratchArena()
    private var inferenceCapacity = 0
    private var inferenceLowRank: UnsafeMutablePointer<Float>?

    /// The modules of layer 0 that `lora` targets.
    static func targetedModules(layer: Int, lora: LoRAConfiguration) -> [LlamaLinearModule] {
        LlamaLinearModule.allCases.filter { lora.targets(moduleName: LlamaTensorNames.moduleName(layer, $0)) }
    }

    /// `(name, shape)` of the LoRA tensors of each layer, A then B per targeted module.
    static func layout(config: LlamaConfig, lora: LoRAConfiguration) -> [[(name: String, shape: [Int])]] {
        (0..<config.numHiddenLayers).map { l in
            targetedModules(layer: l, lora: lora).flatMap { module -> [(name: String, shape: [Int])] in
                let (inputs, outputs) = module.dimensions(config)
                return [(aName(l, module), [lora.rank, inputs]), (bName(l, module), [outputs, lora.rank])]
            }
        }
    }

    /// `model.layers.0.self_attn.q_proj.lora_A.weight`.
    public static func aName(_ l: Int, _ module: LlamaLinearModule) -> String {
        LlamaTensorNames.moduleName(l, module) + ".lora_A.weight"
    }

    public static func bName(_ l: Int, _ module: LlamaLinearModule) -> String {
        LlamaTensorNames.moduleName(l, module) + ".lora_B.weight"
    }

    init(configuration: LoRAConfiguration, config: LlamaConfig, store: ParameterStore) {
        self.configuration = configuration
        self.config = config
        self.store = store
        scaling = configuration.scaling
        targets = (0..<config.numHiddenLayers).map { Self.targetedModules(layer: $0, lora: configuration) }
        aNames = (0..<config.numHiddenLayers).map { l in LlamaLinearModule.allCases.map { Self.aName(l, $0) } }
        bNames = (0..<config.numHiddenLayers).map { l in LlamaLinearModule.allCases.map { Self.bName(l, $0) } }
        let branches = targets.enumerated().flatMap { l, modules in
            modules.map { module in
                let (inputs, outputs) = module.dimensions(config)
                return LoRABranchWeights.Branch(
                    a: Self.aName(l, module), b: Self.bName(l, module), weight: LlamaTensorNames.weight(l, module), inputs: inputs, outputs: outputs)
            }
        }
        weights = LoRABranchWeights(branches: branches, store: store, configuration: configuration)
    }

    /// Every (layer, module) with a branch.
    public var branches: [(layer: Int, module: LlamaLinearModule)] {
        targets.enumerated().flatMap { l, modules in modules.map { (l, $0) } }
    }

    /// PEFT's initialisation: A Kaiming-uniform (a = √5: U(−1/√in, 1/√in)), B zero (`LoRABranchWeights`).
    public func initialize(rng: inout SeededRNG) { weights.initialize(rng: &rng) }

    /// Plans the caches for a pass over `tokens` tokens.
    func prepare(tokens: Int, training: Bool, dropoutSeed: UInt64) {
        self.training = training
        self.dropoutSeed = dropoutSeed
        guard tokens > capacity else { return }
        let r = configuration.rank
        let widest = max(config.hiddenSize, config.intermediateSize, config.queryWidth)
        arena = ScratchArena()
        capacity = tokens
        lowRank = targets.map { modules in LlamaLinearModule.allCases.map { arena.floats(modules.contains($0) ? tokens * r : 0) } }
        lowRankGradient = arena.floats(tokens * r)
        droppedInput = configuration.dropout > 0 ? arena.floats(tokens * widest) : nil
        inputGradient = configuration.dropout > 0 ? arena.floats(tokens * widest) : nil
    }

    /// The generation path's u scratch for `tokens` rows (grown when needed).
    func inferenceScratch(tokens: Int) -> UnsafeMutablePointer<Float> {
        if tokens > inferenceCapacity || inferenceLowRank == nil {
            inferenceArena = ScratchArena()
            inferenceCapacity = tokens
            inferenceLowRank = inferenceArena.floats(tokens * configuration.rank)
        }
        return inferenceLowRank!
    }

    private func dropout(layer: Int, module: LlamaLinearModule) -> Dropout {
        guard training, configuration.dropout > 0 else { return Dropout(probability: 0, key: 0) }
        return Dropout(
            probability: configuration.dropout,
            key: Dropout.key(seed: dropoutSeed, site: 50_000 + 10 * UInt64(layer) + UInt64(module.rawValue)))
    }

    /// Adds the branches of `modules` (one fused product) of layer `l` to `output (N, width)`.
    /// With `inferenceScratch` (generation: `inferenceScratch(tokens:)`), no dropout and nothing kept.
    func forward(
        _ modules: [LlamaLinearModule], layer l: Int, input: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, width: Int, rows N: Int, inferenceScratch: UnsafeMutablePointer<Float>? = nil
    ) {
        guard !isMerged else { return }
        let r = configuration.rank
        for module in modules where targets[l].contains(module) {
            let (inputs, outputs) = module.dimensions(config)
            let u = inferenceScratch ?? lowRank[l][module.rawValue]
            var x = input
            let mask = inferenceScratch == nil ? dropout(layer: l, module: module) : Dropout(probability: 0, key: 0)
            if !mask.isIdentity, let scratch = droppedInput {
                mask.apply(from: input, to: scratch, count: N * inputs, firstIndex: 0)
                x = UnsafePointer(scratch)
            }
            Parallel.sgemm(
                transA: false, transB: true, m: N, n: r, k: inputs,
                a: x, lda: inputs, b: store.value(aNames[l][module.rawValue]), ldb: inputs, beta: 0, c: u, ldc: r)
            Parallel.sgemm(
                transA: false, transB: true, m: N, n: outputs, k: r, alpha: scaling,
                a: u, lda: r, b: store.value(bNames[l][module.rawValue]), ldb: r,
                beta: 1, c: output + module.columnOffset(config), ldc: width)
        }
    }

    /// Backward of the branches of `modules` of layer `l`: dA, dB accumulate when trainable;
    /// `dInput` (nil: not needed) is added to (`LoRABranchBackward` per branch).
    func backward(
        _ modules: [LlamaLinearModule], layer l: Int, input: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, width: Int, dInput: UnsafeMutablePointer<Float>?, rows N: Int
    ) {
        guard !isMerged, let du = lowRankGradient else { return }
        let branch = LoRABranchBackward(
            rank: configuration.rank, scaling: scaling, lowRankGradient: du, droppedInput: droppedInput, inputGradient: inputGradient)
        for module in modules where targets[l].contains(module) {
            let (inputs, outputs) = module.dimensions(config)
            let aName = aNames[l][module.rawValue], bName = bNames[l][module.rawValue]
            branch.run(
                dOutput: dOutput + module.columnOffset(config), width: width, input: input, lowRank: lowRank[l][module.rawValue],
                a: store.value(aName), b: store.value(bName), dA: store.gradient(aName), dB: store.gradient(bName), dInput: dInput,
                dropout: dropout(layer: l, module: module), rows: N, inputs: inputs, outputs: outputs)
        }
    }

    /// PEFT's `merge`: W ← W + s · B A; the branches are then skipped.
    public func merge() { weights.merge() }

    /// PEFT's `unmerge`: W ← W − s · B A.
    public func unmerge() { weights.unmerge() }
}

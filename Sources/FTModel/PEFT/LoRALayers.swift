import FTCore

/// The low-rank branches of a LoRA setup on an `EncoderModel`: their tensors' names, their
/// initialisation, their forward and backward passes, and merging into the base weights.
///
/// The A and B matrices live in the model's own `ParameterStore`, right after the tensors of the
/// layer they belong to (`encoder.layer.0.attention.self.query.lora_A.weight (r, C)`,
/// `...lora_B.weight (C, r)`), so the trainable gradients of a layer stay together.
///
/// Per targeted module, with `x` its input (N, in), `y` its output (N, out) and `s` the scaling:
///
///     forward   x̃ = dropout(x);  u = x̃ · Aᵀ (N, r), kept for backward;  y += s · u · Bᵀ
///     backward  dB += s · dyᵀ · u;  du = s · dy · B;  dA += duᵀ · x̃;  dx += dropout'(du · A)
///
/// reference: PEFT `lora/layer.py` `Linear.forward` (`lora_B(lora_A(dropout(x))) * scaling`).
public final class LoRALayers: @unchecked Sendable {
    public let configuration: LoRAConfiguration
    /// The targeted modules of each layer, in `EncoderLinearModule` order; entry `numHiddenLayers`
    /// holds the pooler when it is targeted.
    public let targets: [[EncoderLinearModule]]
    /// True while `B A · s` is added into the base weights (`merge()`); the branches are then off.
    public var isMerged: Bool { weights.isMerged }
    let hidden: Int
    let intermediate: Int
    let store: ParameterStore
    let names: EncoderTensorNames
    private let scaling: Float
    /// Store names of A and B per [layer][module.rawValue], built once: no strings in the passes.
    private let aNames: [[String]]
    private let bNames: [[String]]
    /// A, B and the base weight of every branch: their initialisation and merging.
    private let weights: LoRABranchWeights

    // Forward caches, planned for `capacity` tokens: u per (layer, module), and dropout scratch.
    private var arena = ScratchArena()
    private var capacity = 0
    private var lowRank: [[UnsafeMutablePointer<Float>]] = []  // [layer][module.rawValue] (N, r)
    private var droppedInput: UnsafeMutablePointer<Float>?  // (N, max in) x̃, when lora_dropout > 0
    /// x̃ of the pooler's branch in forward, rows indexed by sequence: apart from `droppedInput`,
    /// whose rows are indexed by token and may be in use by another batch slice at the same time.
    private var droppedPoolerInput: UnsafeMutablePointer<Float>?
    private var inputGradient: UnsafeMutablePointer<Float>?  // (N, max in) du · A before dropout'
    private var lowRankGradient: UnsafeMutablePointer<Float>?  // (N, r) du
    private var training = false
    private var dropoutSeed: UInt64 = 0
    /// Floats per token of the dropout scratch: the widest branch input, so that batch slices
    /// running side by side use disjoint rows whatever module each is at.
    private var scratchStride = 0

    /// The LoRA tensors of a model of `config`: `(name, shape)` per layer, A then B per targeted
    /// module in `EncoderLinearModule` order, then (entry `numHiddenLayers`) the pooler's.
    public static func layout(config: EncoderConfig, lora: LoRAConfiguration) -> [[(name: String, shape: [Int])]] {
        let names = config.family.names
        return (0...config.numHiddenLayers).map { l in
            targetedModules(layer: l, layers: config.numHiddenLayers, lora: lora, names: names).flatMap { module -> [(name: String, shape: [Int])] in
                let (inputs, outputs) = module.dimensions(hidden: config.hiddenSize, intermediate: config.intermediateSize)
                return [
                    (aName(layer: l, module: module, names: names), [lora.rank, inputs]),
                    (bName(layer: l, module: module, names: names), [outputs, lora.rank]),
                ]
            }
        }
    }

    /// The targeted modules of layer `layer`, or of the pooler for `layer == numHiddenLayers`.
    static func targetedModules(layer: Int, layers: Int, lora: LoRAConfiguration, names: EncoderTensorNames) -> [EncoderLinearModule] {
        let candidates = layer == layers ? [.pooler] : EncoderLinearModule.layerModules
        return candidates.filter { lora.targets(moduleName: $0.fullName(layer: layer, names: names)) }
    }

    /// Store name of the A matrix of `module` in `layer`: `encoder.layer.0.attention.self.query.lora_A.weight`
    /// (`pooler.dense.lora_A.weight` for the pooler).
    public static func aName(layer: Int, module: EncoderLinearModule, names: EncoderTensorNames = EncoderFamily.bert.names) -> String {
        module.tensorPrefix(layer: layer, names: names) + "lora_A.weight"
    }

    /// Store name of the B matrix.
    public static func bName(layer: Int, module: EncoderLinearModule, names: EncoderTensorNames = EncoderFamily.bert.names) -> String {
        module.tensorPrefix(layer: layer, names: names) + "lora_B.weight"
    }

    /// True for the names of LoRA tensors (not part of the base model).
    public static func isLoRATensor(_ name: String) -> Bool {
        name.hasSuffix(".lora_A.weight") || name.hasSuffix(".lora_B.weight")
    }

    init(configuration: LoRAConfiguration, config: EncoderConfig, store: ParameterStore) {
        self.configuration = configuration
        self.store = store
        names = config.family.names
        hidden = config.hiddenSize
        intermediate = config.intermediateSize
        scaling = configuration.scaling
        let layers = config.numHiddenLayers
        let names = config.family.names
        targets = (0...layers).map { Self.targetedModules(layer: $0, layers: layers, lora: configuration, names: names) }
        aNames = (0...layers).map { l in EncoderLinearModule.allCases.map { Self.aName(layer: l, module: $0, names: names) } }
        bNames = (0...layers).map { l in EncoderLinearModule.allCases.map { Self.bName(layer: l, module: $0, names: names) } }
        let (hidden, intermediate) = (hidden, intermediate)
        let branches = targets.enumerated().flatMap { l, modules in
            modules.map { module in
                let (inputs, outputs) = module.dimensions(hidden: hidden, intermediate: intermediate)
                return LoRABranchWeights.Branch(
                    a: Self.aName(layer: l, module: module, names: names), b: Self.bName(layer: l, module: module, names: names),
                    weight: module.tensorPrefix(layer: l, names: names) + "weight", inputs: inputs, outputs: outputs)
            }
        }
        weights = LoRABranchWeights(branches: branches, store: store, configuration: configuration)
    }

    /// Every (layer, module) with a branch, layer by layer.
    public var branches: [(layer: Int, module: EncoderLinearModule)] {
        targets.enumerated().flatMap { l, modules in modules.map { (l, $0) } }
    }

    /// PEFT's initialisation (`init_lora_weights=True`): A Kaiming-uniform, B zero (`LoRABranchWeights`).
    public func initialize(rng: inout SeededRNG) { weights.initialize(rng: &rng) }

    // MARK: - Forward

    /// Plans the caches for a pass over `tokens` tokens (before the model's parallel slices run).
    func prepare(tokens: Int, training: Bool, dropoutSeed: UInt64) {
        self.training = training
        self.dropoutSeed = dropoutSeed
        guard tokens > capacity else { return }
        let r = configuration.rank
        let widestInput = targets.joined().contains(.output) ? max(hidden, intermediate) : hidden
        arena = ScratchArena()  // the old plan goes first
        capacity = tokens
        scratchStride = widestInput
        lowRank = targets.map { modules in EncoderLinearModule.allCases.map { arena.floats(modules.contains($0) ? tokens * r : 0) } }
        lowRankGradient = arena.floats(tokens * r)
        droppedInput = configuration.dropout > 0 ? arena.floats(tokens * widestInput) : nil
        droppedPoolerInput = configuration.dropout > 0 && targets.joined().contains(.pooler) ? arena.floats(tokens * widestInput) : nil
        inputGradient = configuration.dropout > 0 ? arena.floats(tokens * widestInput) : nil
    }

    /// The mask of the branch's dropout for this pass (identity in inference).
    private func dropout(layer: Int, module: EncoderLinearModule) -> Dropout {
        guard training, configuration.dropout > 0 else { return Dropout(probability: 0, key: 0) }
        return Dropout(
            probability: configuration.dropout,
            key: Dropout.key(seed: dropoutSeed, site: 50_000 + 10 * UInt64(layer) + UInt64(module.rawValue)))
    }

    /// Adds the branches of `projection` in `layer` to its output rows `firstToken ..< firstToken + N`:
    /// `input (N, in)` and `output (N, width)` point at those rows (for the pooler: sequences).
    func forward(
        _ projection: EncoderProjection, layer l: Int, input: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, firstToken o: Int, rows N: Int
    ) {
        guard !isMerged else { return }
        let r = configuration.rank, width = projection.outputWidth(hidden: hidden, intermediate: intermediate)
        for module in projection.modules where targets[l].contains(module) {
            let (inputs, outputs) = module.dimensions(hidden: hidden, intermediate: intermediate)
            let u = lowRank[l][module.rawValue] + o * r
            var x = input
            let mask = dropout(layer: l, module: module)
            if !mask.isIdentity, let scratch = module == .pooler ? droppedPoolerInput : droppedInput {
                let rows = scratch + o * scratchStride  // this slice's own rows
                mask.apply(from: input, to: rows, count: N * inputs, firstIndex: o * inputs)
                x = UnsafePointer(rows)
            }
            // u (N, r) = x̃ · Aᵀ
            BLAS.sgemm(
                transA: false, transB: true, m: N, n: r, k: inputs,
                a: x, lda: inputs, b: store.value(aNames[l][module.rawValue]), ldb: inputs,
                beta: 0, c: u, ldc: r)
            // y += s · u · Bᵀ
            BLAS.sgemm(
                transA: false, transB: true, m: N, n: outputs, k: r, alpha: scaling,
                a: u, lda: r, b: store.value(bNames[l][module.rawValue]), ldb: r,
                beta: 1, c: output + module.columnOffset(hidden: hidden), ldc: width)
        }
    }

    // MARK: - Backward

    /// Backward of the branches of `projection` in `layer` over the whole batch (N rows), after the
    /// base product's backward: accumulates dA, dB (when trainable) and adds into `dInput`
    /// (nil when nothing below needs the input's gradient) — `LoRABranchBackward` per branch.
    func backward(
        _ projection: EncoderProjection, layer l: Int, input: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>?, rows N: Int
    ) {
        guard !isMerged, let du = lowRankGradient else { return }
        let width = projection.outputWidth(hidden: hidden, intermediate: intermediate)
        let branch = LoRABranchBackward(
            rank: configuration.rank, scaling: scaling, lowRankGradient: du, droppedInput: droppedInput, inputGradient: inputGradient)
        for module in projection.modules where targets[l].contains(module) {
            let (inputs, outputs) = module.dimensions(hidden: hidden, intermediate: intermediate)
            let aName = aNames[l][module.rawValue], bName = bNames[l][module.rawValue]
            branch.run(
                dOutput: dOutput + module.columnOffset(hidden: hidden), width: width, input: input, lowRank: lowRank[l][module.rawValue],
                a: store.value(aName), b: store.value(bName), dA: store.gradient(aName), dB: store.gradient(bName), dInput: dInput,
                dropout: dropout(layer: l, module: module), rows: N, inputs: inputs, outputs: outputs)
        }
    }

    // MARK: - Merging

    /// PEFT's `merge`: W ← W + s · B A for every branch; the branches are then skipped, so the
    /// model computes the same function with plain products. Does nothing when already merged.
    public func merge() { weights.merge() }

    /// PEFT's `unmerge`: W ← W − s · B A, back to the base weights (up to float rounding).
    public func unmerge() { weights.unmerge() }
}

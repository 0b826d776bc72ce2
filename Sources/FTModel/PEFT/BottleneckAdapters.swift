import FTCore

/// A bottleneck adapter setup (Houlsby et al. 2019; Pfeiffer et al. 2020's placement): one small
/// residual block per layer after the feed-forward block.
public struct BottleneckConfiguration: Sendable, Equatable {
    /// Hidden size ÷ bottleneck width (AdapterHub's `reduction_factor`; 16 in Pfeiffer's config).
    public var reductionFactor: Int
    /// Modules trained fully and saved with the adapters (the classification head).
    public var modulesToSave: [String]

    public init(reductionFactor: Int = 16, modulesToSave: [String] = ["classifier"]) {
        self.reductionFactor = reductionFactor
        self.modulesToSave = modulesToSave
    }

    /// Whether store tensor `name` is trained: the adapters and the modules to save.
    public func isTrainable(_ name: String, names: any ModelTensorNaming = EncoderFamily.bert.names) -> Bool {
        BottleneckAdapters.isAdapterTensor(name)
            || modulesToSave.contains { LoRAConfiguration.matches($0, moduleName: names.moduleName(ofTensor: name)) }
    }

    /// The bottleneck width for hidden size `C`: `C / reductionFactor`, at least 1.
    public func width(hidden C: Int) -> Int { max(1, C / max(reductionFactor, 1)) }
}

/// Bottleneck adapters on an `EncoderModel`: in every layer, the feed-forward output (after its
/// dropout, before the residual connection and LayerNorm) goes through
///
///     h ← h + up(relu(down(h)))        down: (m, C) + (m),  up: (C, m) + (C),  m = C / reduction factor
///
/// `up` starts at zero, so a fresh adapter is the identity and the model starts as the base model;
/// `down` starts like `nn.Linear` (U(−1/√C, 1/√C)), biases at zero. The tensors live in the model's
/// store after the layer's own: `encoder.layer.0.output.adapter.down.weight` and so on.
public final class BottleneckAdapters: @unchecked Sendable {
    public let configuration: BottleneckConfiguration
    let layers: Int
    let hidden: Int
    let width: Int
    let store: ParameterStore
    /// Store names per layer, built once.
    private let tensorNames: [(downWeight: String, downBias: String, upWeight: String, upBias: String)]

    // Caches for `capacity` tokens, per layer: the adapter input h (N, C) and relu(down(h)) (N, m).
    private var arena = ScratchArena()
    private var capacity = 0
    private var inputs: [UnsafeMutablePointer<Float>] = []
    private var activations: [UnsafeMutablePointer<Float>] = []
    private var dInput: UnsafeMutablePointer<Float>?  // (N, C) gradient of h
    private var dActivation: UnsafeMutablePointer<Float>?  // (N, m)
    private var training = false

    static let prefix = "output.adapter."

    /// Store names of layer `l`'s four tensors (`layerPrefix`: the family's, `encoder.layer.`).
    public static func names(
        layer l: Int, layerPrefix: String = EncoderFamily.bert.names.layerPrefix
    )
        -> (downWeight: String, downBias: String, upWeight: String, upBias: String)
    {
        let p = layerPrefix + "\(l)." + prefix
        return (p + "down.weight", p + "down.bias", p + "up.weight", p + "up.bias")
    }

    /// True for the names of bottleneck adapter tensors.
    public static func isAdapterTensor(_ name: String) -> Bool { name.contains("." + prefix) }

    /// The adapter tensors of a model of `config`, per layer.
    static func layout(config: EncoderConfig, bottleneck: BottleneckConfiguration) -> [[(name: String, shape: [Int])]] {
        let C = config.hiddenSize, m = bottleneck.width(hidden: C)
        return (0..<config.numHiddenLayers).map { l in
            let n = names(layer: l, layerPrefix: config.family.names.layerPrefix)
            return [(n.downWeight, [m, C]), (n.downBias, [m]), (n.upWeight, [C, m]), (n.upBias, [C])]
        }
    }

    init(configuration: BottleneckConfiguration, config: EncoderConfig, store: ParameterStore) {
        self.configuration = configuration
        self.store = store
        layers = config.numHiddenLayers
        hidden = config.hiddenSize
        width = configuration.width(hidden: config.hiddenSize)
        tensorNames = (0..<config.numHiddenLayers).map { Self.names(layer: $0, layerPrefix: config.family.names.layerPrefix) }
    }

    /// Down-projections like `nn.Linear`'s default, up-projections and biases zero: the identity.
    public func initialize(rng: inout SeededRNG) {
        let bound = 1 / Float(hidden).squareRoot()
        for l in 0..<layers {
            let n = tensorNames[l]
            let down = store.value(n.downWeight)
            for i in 0..<(width * hidden) { down[i] = (2 * rng.nextUniform() - 1) * bound }
            store.value(n.downBias).update(repeating: 0, count: width)
            store.value(n.upWeight).update(repeating: 0, count: hidden * width)
            store.value(n.upBias).update(repeating: 0, count: hidden)
        }
    }

    /// Plans the caches for a pass over `tokens` tokens.
    func prepare(tokens: Int, training: Bool) {
        self.training = training
        guard tokens > capacity else { return }
        arena = ScratchArena()
        capacity = tokens
        inputs = (0..<layers).map { _ in arena.floats(tokens * hidden) }
        activations = (0..<layers).map { _ in arena.floats(tokens * width) }
        dInput = arena.floats(tokens * hidden)
        dActivation = arena.floats(tokens * width)
    }

    /// h ← h + up(relu(down(h))) on rows `firstToken ..< firstToken + N` (`branch` points at them).
    func forward(layer l: Int, branch h: UnsafeMutablePointer<Float>, firstToken o: Int, rows N: Int) {
        let C = hidden, m = width, n = tensorNames[l]
        let x = inputs[l] + o * C, a = activations[l] + o * m
        x.update(from: h, count: N * C)  // kept for backward (dDown needs h)
        Linear.forward(
            output: a, input: x, weight: store.value(n.downWeight), bias: store.value(n.downBias),
            rows: N, inputs: C, outputs: m)
        ReLU.forward(output: a, input: a, count: N * m)
        // h += a · upᵀ + up.bias (h already holds the residual term x)
        for r in 0..<N { VectorMath.add(h + r * C, store.value(n.upBias), C) }
        BLAS.sgemm(
            transA: false, transB: true, m: N, n: C, k: m, a: a, lda: m, b: store.value(n.upWeight), ldb: m,
            beta: 1, c: h, ldc: C)
    }

    /// Backward over the whole batch: given `dOutput (N, C)`, the gradient of the adapter's output,
    /// accumulates the adapter's parameter gradients and returns the gradient of its input
    /// (a workspace buffer, valid until the next call): dh = dOutput + downᵀ-path.
    func backward(layer l: Int, dOutput g: UnsafePointer<Float>, rows N: Int) -> UnsafeMutablePointer<Float> {
        let C = hidden, m = width, n = tensorNames[l]
        let dh = dInput!, da = dActivation!, a = activations[l]
        // up: dUp += gᵀ · a, dUpBias += Σ g, da = g · up
        Linear.backward(
            dInput: da, dWeight: store.gradient(n.upWeight), dBias: store.gradient(n.upBias),
            dOutput: g, input: a, weight: store.value(n.upWeight), rows: N, inputs: m, outputs: C)
        ReLU.backward(dInput: da, dOutput: da, output: a, count: N * m)
        // down: dDown += daᵀ · h, dDownBias += Σ da, dh = g + da · down
        dh.update(from: g, count: N * C)
        Linear.backward(
            dInput: dh, accumulateInput: true, dWeight: store.gradient(n.downWeight),
            dBias: store.gradient(n.downBias), dOutput: da, input: inputs[l],
            weight: store.value(n.downWeight), rows: N, inputs: C, outputs: m)
        return dh
    }
}

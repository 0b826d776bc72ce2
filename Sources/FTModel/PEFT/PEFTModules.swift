import FTCore

/// What a parameter-efficient setup adds to an `EncoderModel`.
public struct PEFTSetup: Sendable, Equatable {
    /// Low-rank branches on chosen linear modules (PEFT's LoRA), or nil.
    public var lora: LoRAConfiguration?
    /// Bottleneck adapters after every feed-forward block, or nil.
    public var bottleneck: BottleneckConfiguration?

    public init(lora: LoRAConfiguration? = nil, bottleneck: BottleneckConfiguration? = nil) {
        self.lora = lora
        self.bottleneck = bottleneck
    }
}

extension PEFTSetup {
    /// Whether store tensor `name` is trained under this setup, for a model of the family whose names are `names`.
    public func isTrainable(_ name: String, names: any ModelTensorNaming = EncoderFamily.bert.names) -> Bool {
        if let lora { return lora.isTrainable(name, names: names) }
        if let bottleneck { return bottleneck.isTrainable(name, names: names) }
        return true
    }

    /// Whether two setups give the same tensors and the same function shape, so adapters of both
    /// can take turns in one model: LoRA rank, targets, alpha and rsLoRA; adapter widths.
    public func sharesModel(with other: PEFTSetup) -> Bool {
        switch (lora, other.lora) {
        case (nil, nil): break
        case let (a?, b?):
            guard a.rank == b.rank, Set(a.targetModules) == Set(b.targetModules), a.alpha == b.alpha,
                a.useRSLoRA == b.useRSLoRA
            else { return false }
        default: return false
        }
        return bottleneck?.reductionFactor == other.bottleneck?.reductionFactor
    }
}

/// The parameter-efficient modules attached to one `EncoderModel`; the model calls them at fixed
/// points of its forward and backward passes (after each linear product of a layer).
public final class PEFTModules: @unchecked Sendable {
    public let setup: PEFTSetup
    /// The LoRA branches, when the setup has LoRA.
    public let lora: LoRALayers?
    /// The bottleneck adapters, when the setup has them.
    public let bottleneck: BottleneckAdapters?
    /// The LoRA branches whatever the model family (the encoder's `lora`, or a Llama's), for the
    /// trainer's initialisation, merging and export.
    public let loraBranches: (any LoRABranches)?

    /// - Throws: `ModelError.badConfig` when LoRA's `target_modules` match no module of the family.
    init(setup: PEFTSetup, config: EncoderConfig, store: ParameterStore) throws {
        self.setup = setup
        lora = setup.lora.map { LoRALayers(configuration: $0, config: config, store: store) }
        if let lora, lora.branches.isEmpty {
            let modules = EncoderLinearModule.allCases.map { $0.name(in: config.family.names) }
            throw ModelError.badConfig(
                "lora_target_modules",
                "\(lora.configuration.targetModules) match no linear module of \(config.family.name) "
                    + "(\(modules.joined(separator: ", ")))")
        }
        bottleneck = setup.bottleneck.map { BottleneckAdapters(configuration: $0, config: config, store: store) }
        loraBranches = lora
    }

    /// The modules of a model that computes its LoRA branches itself (a Llama): no encoder hooks.
    init(setup: PEFTSetup, lora: (any LoRABranches)?) {
        self.setup = setup
        self.lora = nil
        bottleneck = nil
        loraBranches = lora
    }

    /// The extra tensors of `setup` for each layer of a model of `config`, in buffer order, and
    /// (entry `numHiddenLayers`) those that follow the pooler.
    static func layout(setup: PEFTSetup, config: EncoderConfig) -> [[(name: String, shape: [Int])]] {
        var perLayer = [[(name: String, shape: [Int])]](repeating: [], count: config.numHiddenLayers + 1)
        if let lora = setup.lora {
            for (l, tensors) in LoRALayers.layout(config: config, lora: lora).enumerated() { perLayer[l] += tensors }
        }
        if let bottleneck = setup.bottleneck {
            for (l, tensors) in BottleneckAdapters.layout(config: config, bottleneck: bottleneck).enumerated() { perLayer[l] += tensors }
        }
        return perLayer
    }

    /// True for tensors that belong to an adapter rather than to the base model.
    public static func isAdapterTensor(_ name: String) -> Bool {
        LoRALayers.isLoRATensor(name) || BottleneckAdapters.isAdapterTensor(name)
    }

    /// Called once per forward pass, before the batch slices run.
    func prepare(tokens: Int, training: Bool, dropoutSeed: UInt64) {
        lora?.prepare(tokens: tokens, training: training, dropoutSeed: dropoutSeed)
        bottleneck?.prepare(tokens: tokens, training: training)
    }

    /// After the base product `projection` of `layer` for rows `firstToken ..< firstToken + rows`.
    func forward(
        _ projection: EncoderProjection, layer: Int, input: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, firstToken: Int, rows: Int
    ) {
        lora?.forward(projection, layer: layer, input: input, output: output, firstToken: firstToken, rows: rows)
    }

    /// After the base product's backward, over the whole batch.
    func backward(
        _ projection: EncoderProjection, layer: Int, input: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>?, rows: Int
    ) {
        lora?.backward(projection, layer: layer, input: input, dOutput: dOutput, dInput: dInput, rows: rows)
    }

    /// After a layer's feed-forward output and its dropout, before the residual connection:
    /// `branch` (rows `firstToken ..< firstToken + rows`) goes through the bottleneck adapter.
    func forwardFeedForward(layer: Int, branch: UnsafeMutablePointer<Float>, firstToken: Int, rows: Int) {
        bottleneck?.forward(layer: layer, branch: branch, firstToken: firstToken, rows: rows)
    }

    /// The gradient before the bottleneck adapter given the one after it (`dOutput` itself when
    /// there is none), over the whole batch.
    func backwardFeedForward(layer: Int, dOutput: UnsafeMutablePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        bottleneck?.backward(layer: layer, dOutput: dOutput, rows: rows) ?? dOutput
    }
}

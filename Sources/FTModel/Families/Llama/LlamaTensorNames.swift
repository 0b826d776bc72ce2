/// The linear modules of a Llama layer, in the store's layout order (q, k, v side by side and
/// gate, up side by side, so one product covers each group).
public enum LlamaLinearModule: Int, CaseIterable, Sendable {
    case q, k, v, o, gate, up, down

    /// Hugging Face's module name inside a layer (`self_attn.q_proj`).
    public var name: String {
        switch self {
        case .q: return "self_attn.q_proj"
        case .k: return "self_attn.k_proj"
        case .v: return "self_attn.v_proj"
        case .o: return "self_attn.o_proj"
        case .gate: return "mlp.gate_proj"
        case .up: return "mlp.up_proj"
        case .down: return "mlp.down_proj"
        }
    }

    /// (inputs, outputs) of the module's weight `(outputs, inputs)`.
    public func dimensions(_ config: LlamaConfig) -> (inputs: Int, outputs: Int) {
        let C = config.hiddenSize, F = config.intermediateSize
        switch self {
        case .q: return (C, config.queryWidth)
        case .k, .v: return (C, config.keyValueWidth)
        case .o: return (config.queryWidth, C)
        case .gate, .up: return (C, F)
        case .down: return (F, C)
        }
    }

    /// The fused product the module belongs to, and its column offset in that product's output.
    func columnOffset(_ config: LlamaConfig) -> Int {
        switch self {
        case .q, .o, .gate, .down: return 0
        case .k: return config.queryWidth
        case .v: return config.queryWidth + config.keyValueWidth
        case .up: return config.intermediateSize
        }
    }
}

/// The tensor names of `LlamaForCausalLM.state_dict()`, which are also fttrain's store names.
public enum LlamaTensorNames {
    public static let embedTokens = "model.embed_tokens.weight"
    public static let finalNorm = "model.norm.weight"
    public static let lmHead = "lm_head.weight"
    public static let layerPrefix = "model.layers."

    /// Prefix of layer `l`'s tensors: `model.layers.3.`.
    public static func layer(_ l: Int) -> String { layerPrefix + "\(l)." }
    public static func inputNorm(_ l: Int) -> String { layer(l) + "input_layernorm.weight" }
    public static func postAttentionNorm(_ l: Int) -> String { layer(l) + "post_attention_layernorm.weight" }
    /// `model.layers.3.self_attn.q_proj.weight`.
    public static func weight(_ l: Int, _ module: LlamaLinearModule) -> String { layer(l) + module.name + ".weight" }
    /// Full module name (what PEFT's `target_modules` match): `model.layers.3.self_attn.q_proj`.
    public static func moduleName(_ l: Int, _ module: LlamaLinearModule) -> String { layer(l) + module.name }

    /// The layer index of a store tensor of a decoder layer, nil for the others.
    public static func layer(ofTensor name: String) -> Int? {
        guard name.hasPrefix(layerPrefix) else { return nil }
        let rest = name.dropFirst(layerPrefix.count)
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        return Int(rest[..<dot])
    }
}

/// `LlamaForCausalLM`'s names behind the model interface: store names are the checkpoint's own
/// (`model.layers.0.self_attn.q_proj.weight`), module names drop the last component, the head is
/// `lm_head` (absent when tied).
public struct LlamaTensorNaming: ModelTensorNaming, Equatable {
    /// Whether the output projection is the embedding table (then its gradient is dense).
    public var tiedEmbeddings: Bool

    public init(tiedEmbeddings: Bool) { self.tiedEmbeddings = tiedEmbeddings }

    public var wordEmbeddings: String { LlamaTensorNames.embedTokens }
    public func checkpointName(_ name: String) -> String { name }
    public func storeName(_ checkpointName: String) -> String { checkpointName }
    public func moduleName(ofTensor name: String) -> String { name.split(separator: ".").dropLast().joined(separator: ".") }
    public func layer(ofTensor name: String) -> Int? { LlamaTensorNames.layer(ofTensor: name) }
    public func isEmbeddingTensor(_ name: String) -> Bool { name == LlamaTensorNames.embedTokens }
    public func isHeadTensor(_ name: String) -> Bool { name.hasPrefix("lm_head.") }
    public func layer(_ l: Int) -> String { LlamaTensorNames.layer(l) }
    public var sparseGradientTable: String? { tiedEmbeddings ? nil : LlamaTensorNames.embedTokens }
}

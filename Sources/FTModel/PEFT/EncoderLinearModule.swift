/// The linear modules of an encoder layer that PEFT can wrap, by their place in the layer (each
/// family names them: `EncoderTensorNames.layerModules`), and the head's dense layer on the first
/// token (BERT's pooler, DistilBERT's `pre_classifier`).
///
/// fttrain fuses query, key and value into one `(3C, C)` product (`EncoderProjection.qkv`): LoRA on
/// the query adds its low-rank term to the first third of that product's output, the key to the
/// second, the value to the last.
public enum EncoderLinearModule: Int, CaseIterable, Sendable {
    case query, key, value, attentionOutput, intermediate, output
    /// The dense layer on the first token, not part of a layer: LoRA keeps it at layer index `numHiddenLayers`.
    case pooler

    /// The modules inside each encoder layer.
    public static let layerModules: [EncoderLinearModule] = [.query, .key, .value, .attentionOutput, .intermediate, .output]

    /// The module's name inside a layer (or the pooler's name), as the family names it.
    public func name(in names: EncoderTensorNames) -> String {
        self == .pooler ? names.pooler : names.layerModules[rawValue]
    }

    /// The module's full Hugging Face name in a `*ForSequenceClassification` model, which PEFT
    /// matches `target_modules` against: `bert.encoder.layer.0.attention.self.query`, `bert.pooler.dense`,
    /// DistilBERT's `pre_classifier`.
    public func fullName(layer: Int, names: EncoderTensorNames) -> String {
        names.checkpointName(tensorPrefix(layer: layer, names: names) + "weight")
            .dropLast("weight".count).dropLast().description
    }

    /// The store name prefix of the module's tensors: `encoder.layer.0.attention.self.query.`, `pooler.dense.`.
    public func tensorPrefix(layer: Int, names: EncoderTensorNames) -> String {
        self == .pooler ? names.pooler + "." : names.layer(layer) + names.layerModules[rawValue] + "."
    }

    /// The product fttrain computes it in.
    public var projection: EncoderProjection {
        switch self {
        case .query, .key, .value: return .qkv
        case .attentionOutput: return .attentionOutput
        case .intermediate: return .intermediate
        case .output: return .output
        case .pooler: return .pooler
        }
    }

    /// (inputs, outputs) for hidden size C and intermediate size I.
    public func dimensions(hidden C: Int, intermediate I: Int) -> (inputs: Int, outputs: Int) {
        switch self {
        case .query, .key, .value, .attentionOutput, .pooler: return (C, C)
        case .intermediate: return (C, I)
        case .output: return (I, C)
        }
    }

    /// First output column of the module inside its projection's output rows.
    public func columnOffset(hidden C: Int) -> Int {
        switch self {
        case .key: return C
        case .value: return 2 * C
        default: return 0
        }
    }
}

/// The linear products of an encoder layer as fttrain computes them.
public enum EncoderProjection: Int, CaseIterable, Sendable {
    /// Query, key and value at once: `(N, C) → (N, 3C)`.
    case qkv
    /// The attention output projection: `(N, C) → (N, C)`.
    case attentionOutput
    /// The feed-forward input projection: `(N, C) → (N, I)`.
    case intermediate
    /// The feed-forward output projection: `(N, I) → (N, C)`.
    case output
    /// The head's dense layer on the first token of each sequence: `(B, C) → (B, C)`.
    case pooler

    /// The modules computed in this product.
    public var modules: [EncoderLinearModule] {
        switch self {
        case .qkv: return [.query, .key, .value]
        case .attentionOutput: return [.attentionOutput]
        case .intermediate: return [.intermediate]
        case .output: return [.output]
        case .pooler: return [.pooler]
        }
    }

    /// Width of one output row of the product.
    public func outputWidth(hidden C: Int, intermediate I: Int) -> Int {
        switch self {
        case .qkv: return 3 * C
        case .attentionOutput, .output, .pooler: return C
        case .intermediate: return I
        }
    }
}

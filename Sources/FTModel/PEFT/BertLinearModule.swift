/// The linear modules of BERT that PEFT can wrap, with Hugging Face's names and where fttrain
/// computes them: six per layer, and the pooler's dense layer (after the last layer).
///
/// fttrain fuses query, key and value into one `(3C, C)` product (`BertProjection.qkv`): LoRA on
/// `query` adds its low-rank term to the first third of that product's output, `key` to the second,
/// `value` to the last.
public enum BertLinearModule: Int, CaseIterable, Sendable {
    case query, key, value, attentionOutput, intermediate, output
    /// `bert.pooler.dense`, not part of a layer: LoRA keeps it at layer index `numHiddenLayers`.
    case pooler

    /// The modules inside each encoder layer.
    public static let layerModules: [BertLinearModule] = [.query, .key, .value, .attentionOutput, .intermediate, .output]

    /// The module's name inside a layer, as Hugging Face names it.
    public var name: String {
        switch self {
        case .query: return "attention.self.query"
        case .key: return "attention.self.key"
        case .value: return "attention.self.value"
        case .attentionOutput: return "attention.output.dense"
        case .intermediate: return "intermediate.dense"
        case .output: return "output.dense"
        case .pooler: return "pooler.dense"
        }
    }

    /// The module's full name in `BertForSequenceClassification`: `bert.encoder.layer.0.attention.self.query`,
    /// `bert.pooler.dense`.
    public func fullName(layer: Int) -> String { self == .pooler ? "bert.pooler.dense" : "bert.encoder.layer.\(layer).\(name)" }

    /// The store name prefix of the module's tensors: `encoder.layer.0.attention.self.query.`, `pooler.dense.`.
    public func tensorPrefix(layer: Int) -> String { self == .pooler ? "pooler.dense." : "encoder.layer.\(layer).\(name)." }

    /// The product fttrain computes it in.
    public var projection: BertProjection {
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

/// The linear products of a BERT layer as fttrain computes them.
public enum BertProjection: Int, CaseIterable, Sendable {
    /// Query, key and value at once: `(N, C) → (N, 3C)`.
    case qkv
    /// `attention.output.dense`: `(N, C) → (N, C)`.
    case attentionOutput
    /// `intermediate.dense`: `(N, C) → (N, I)`.
    case intermediate
    /// `output.dense`: `(N, I) → (N, C)`.
    case output
    /// `pooler.dense` on the first token of each sequence: `(B, C) → (B, C)`.
    case pooler

    /// The modules computed in this product.
    public var modules: [BertLinearModule] {
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

/// The linear modules of a BERT layer that PEFT can wrap, with Hugging Face's names and where
/// fttrain computes them.
///
/// fttrain fuses query, key and value into one `(3C, C)` product (`BertProjection.qkv`): LoRA on
/// `query` adds its low-rank term to the first third of that product's output, `key` to the second,
/// `value` to the last.
public enum BertLinearModule: Int, CaseIterable, Sendable {
    case query, key, value, attentionOutput, intermediate, output

    /// The module's name inside a layer, as Hugging Face names it.
    public var name: String {
        switch self {
        case .query: return "attention.self.query"
        case .key: return "attention.self.key"
        case .value: return "attention.self.value"
        case .attentionOutput: return "attention.output.dense"
        case .intermediate: return "intermediate.dense"
        case .output: return "output.dense"
        }
    }

    /// The module's full name in `BertForSequenceClassification`: `bert.encoder.layer.0.attention.self.query`.
    public func fullName(layer: Int) -> String { "bert.encoder.layer.\(layer).\(name)" }

    /// The product fttrain computes it in.
    public var projection: BertProjection {
        switch self {
        case .query, .key, .value: return .qkv
        case .attentionOutput: return .attentionOutput
        case .intermediate: return .intermediate
        case .output: return .output
        }
    }

    /// (inputs, outputs) for hidden size C and intermediate size I.
    public func dimensions(hidden C: Int, intermediate I: Int) -> (inputs: Int, outputs: Int) {
        switch self {
        case .query, .key, .value, .attentionOutput: return (C, C)
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

    /// The modules computed in this product.
    public var modules: [BertLinearModule] {
        switch self {
        case .qkv: return [.query, .key, .value]
        case .attentionOutput: return [.attentionOutput]
        case .intermediate: return [.intermediate]
        case .output: return [.output]
        }
    }

    /// Width of one output row of the product.
    public func outputWidth(hidden C: Int, intermediate I: Int) -> Int {
        switch self {
        case .qkv: return 3 * C
        case .attentionOutput, .output: return C
        case .intermediate: return I
        }
    }
}

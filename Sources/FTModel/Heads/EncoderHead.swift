/// What an encoder's head computes, as Hugging Face's heads do. Two shapes: a sequence head (the
/// pooler on the first token, then a classifier → (B, L)) and a per-token head (a linear layer of
/// width W on every row of the last hidden state → (B, T, W), no pooler). Token classification
/// and extractive QA are both per-token heads; they differ only in the layer's name, its width,
/// its dropout and the loss the task puts on it.
public enum EncoderHead: String, Sendable, CaseIterable {
    /// `*ForSequenceClassification`: the pooler on the first token, dropout, `classifier` → (B, L).
    case sequenceClassification
    /// `*ForTokenClassification`: dropout on every row of the last hidden state, `classifier` →
    /// (B, T, L); no pooler (`add_pooling_layer=False`).
    case tokenClassification
    /// `*ForQuestionAnswering`: `qa_outputs` (2, C) on every row → (B, T, 2), channel 0 the start
    /// logits and channel 1 the end logits (`logits.split(1, dim=-1)`); no pooler. BERT puts no
    /// dropout before it, DistilBERT its `qa_dropout`.
    case questionAnswering

    /// Whether the head's layer runs on every token (no pooler): (B, T, W) outputs.
    public var isPerToken: Bool { self != .sequenceClassification }

    /// The head layer's module name in Hugging Face's checkpoints (`classifier`, `qa_outputs`).
    public var layerName: String { self == .questionAnswering ? "qa_outputs" : "classifier" }

    /// The width a per-token head must have, when fixed (2 for QA: start and end), else nil.
    public var fixedWidth: Int? { self == .questionAnswering ? 2 : nil }

    /// The suffix of Hugging Face's class (`ForSequenceClassification`).
    public var architectureSuffix: String {
        switch self {
        case .sequenceClassification: return "ForSequenceClassification"
        case .tokenClassification: return "ForTokenClassification"
        case .questionAnswering: return "ForQuestionAnswering"
        }
    }

    /// PEFT's `task_type` of an adapter on this head.
    public var peftTaskType: String {
        switch self {
        case .sequenceClassification: return "SEQ_CLS"
        case .tokenClassification: return "TOKEN_CLS"
        case .questionAnswering: return "QUESTION_ANS"
        }
    }

    /// The head named by a `config.json`'s `architectures` (`BertForTokenClassification`,
    /// `BertForQuestionAnswering`): the head whose suffix the first class ends with, else
    /// sequence classification.
    public static func named(byArchitectures architectures: [String]?) -> EncoderHead {
        guard let first = architectures?.first else { return .sequenceClassification }
        return allCases.first { first.hasSuffix($0.architectureSuffix) } ?? .sequenceClassification
    }
}

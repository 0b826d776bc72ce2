/// What an encoder's classification head classifies, as Hugging Face's heads do.
public enum EncoderHead: String, Sendable, CaseIterable {
    /// `*ForSequenceClassification`: the pooler on the first token, dropout, `classifier` → (B, L).
    case sequenceClassification
    /// `*ForTokenClassification`: dropout on every row of the last hidden state, `classifier` →
    /// (B, T, L); no pooler (`add_pooling_layer=False`).
    case tokenClassification

    /// The head named by a `config.json`'s `architectures` (`BertForTokenClassification`): token
    /// classification when the first class ends so, else sequence classification.
    public static func named(byArchitectures architectures: [String]?) -> EncoderHead {
        (architectures?.first?.hasSuffix("ForTokenClassification") ?? false) ? .tokenClassification : .sequenceClassification
    }
}

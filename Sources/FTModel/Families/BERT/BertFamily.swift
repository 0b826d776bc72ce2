import Foundation

extension EncoderFamily {
    /// BERT (`BertModel`, `BertForSequenceClassification`), and sentence-transformers' BERT models.
    ///
    /// Embeddings: word + learned position + token type, LayerNorm, dropout. Head: the pooler
    /// `tanh(pooler.dense(h₀))` (part of the bare model), dropout (`classifier_dropout`, falling
    /// back to `hidden_dropout_prob`), `classifier`.
    public static let bert = EncoderFamily(
        name: "bert", modelTypes: ["bert", "sentence-bert"],
        sequenceClassificationArchitecture: "BertForSequenceClassification", baseArchitecture: "BertModel",
        names: EncoderTensorNames(
            basePrefix: "bert.",
            wordEmbeddings: "embeddings.word_embeddings.weight",
            positionEmbeddings: "embeddings.position_embeddings.weight",
            tokenTypeEmbeddings: "embeddings.token_type_embeddings.weight",
            embeddingNorm: "embeddings.LayerNorm",
            layerPrefix: "encoder.layer.",
            layerModules: [
                "attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense",
            ],
            attentionNorm: "attention.output.LayerNorm", outputNorm: "output.LayerNorm",
            pooler: "pooler.dense", poolerInHead: false, classifier: "classifier"),
        poolerActivation: .tanh,
        readConfig: readBertConfig,
        writeConfig: { config, object in
            object["hidden_dropout_prob"] = Double(config.hiddenDropoutProb)
            object["attention_probs_dropout_prob"] = Double(config.attentionProbsDropoutProb)
            object["classifier_dropout"] = config.classifierDropout.map { Double($0) } ?? NSNull()
        })

    /// BERT's keys, with Hugging Face's `BertConfig` defaults for the optional ones.
    @Sendable static func readBertConfig(_ json: ConfigJSON) throws -> EncoderConfig {
        var config = EncoderConfig(
            vocabSize: try json.int("vocab_size"), hiddenSize: try json.int("hidden_size"),
            numHiddenLayers: try json.int("num_hidden_layers"), numAttentionHeads: try json.int("num_attention_heads"),
            intermediateSize: try json.int("intermediate_size"),
            hiddenAct: try json.string("hidden_act", default: "gelu")!,
            hiddenDropoutProb: try json.float("hidden_dropout_prob", default: 0.1)!,
            attentionProbsDropoutProb: try json.float("attention_probs_dropout_prob", default: 0.1)!,
            maxPositionEmbeddings: try json.int("max_position_embeddings", default: 512)!,
            typeVocabSize: try json.int("type_vocab_size", default: 2)!,
            layerNormEps: try json.float("layer_norm_eps", default: 1e-12)!)
        config.classifierDropout = try json.float("classifier_dropout", default: nil)
        config.positionEmbeddingType = try json.string("position_embedding_type", default: nil)
        config.modelType = try json.string("model_type", default: nil)
        config.padTokenId = try json.int("pad_token_id", default: nil)
        config.family = .bert
        return config
    }
}

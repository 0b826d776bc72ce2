import Foundation

extension EncoderFamily {
    /// DistilBERT (`DistilBertModel`, `DistilBertForSequenceClassification`; Sanh et al. 2019).
    ///
    /// BERT's layer with other names (`attention.q_lin`, `sa_layer_norm`, `ffn.lin1`, …), no token
    /// types, positions learned or fixed sinusoids (`sinusoidal_pos_embds`), and no pooler: the head
    /// is `classifier(dropout(relu(pre_classifier(h₀))))` with `seq_classif_dropout`.
    /// reference: transformers `models/distilbert/modeling_distilbert.py`.
    public static let distilBERT = EncoderFamily(
        name: "distilbert", modelTypes: ["distilbert"],
        sequenceClassificationArchitecture: "DistilBertForSequenceClassification", baseArchitecture: "DistilBertModel",
        names: EncoderTensorNames(
            basePrefix: "distilbert.",
            wordEmbeddings: "embeddings.word_embeddings.weight",
            positionEmbeddings: "embeddings.position_embeddings.weight",
            tokenTypeEmbeddings: nil,
            embeddingNorm: "embeddings.LayerNorm",
            layerPrefix: "transformer.layer.",
            layerModules: [
                "attention.q_lin", "attention.k_lin", "attention.v_lin",
                "attention.out_lin", "ffn.lin1", "ffn.lin2",
            ],
            attentionNorm: "sa_layer_norm", outputNorm: "output_layer_norm",
            pooler: "pre_classifier", poolerInHead: true, classifier: "classifier"),
        poolerActivation: .relu, attentionOutputDropout: false,
        configKeys: [
            "hidden_size": "dim", "num_hidden_layers": "n_layers", "num_attention_heads": "n_heads",
            "intermediate_size": "hidden_dim", "hidden_act": "activation", "hidden_dropout_prob": "dropout",
            "attention_probs_dropout_prob": "attention_dropout", "classifier_dropout": "seq_classif_dropout",
        ],
        readConfig: readDistilBertConfig,
        writeConfig: { config, object in
            object["dropout"] = Double(config.hiddenDropoutProb)
            object["attention_dropout"] = Double(config.attentionProbsDropoutProb)
            object["seq_classif_dropout"] = Double(config.classifierDropout ?? 0.2)
        }, perTokenHeadDropout: .distilBERT)

    /// DistilBERT's keys, with Hugging Face's `DistilBertConfig` defaults for the optional ones.
    @Sendable static func readDistilBertConfig(_ json: ConfigJSON) throws -> EncoderConfig {
        var config = EncoderConfig(
            vocabSize: try json.int("vocab_size"), hiddenSize: try json.int("dim", default: 768)!,
            numHiddenLayers: try json.int("n_layers", default: 6)!, numAttentionHeads: try json.int("n_heads", default: 12)!,
            intermediateSize: try json.int("hidden_dim", default: 3072)!,
            hiddenAct: try json.string("activation", default: "gelu")!,
            hiddenDropoutProb: try json.float("dropout", default: 0.1)!,
            attentionProbsDropoutProb: try json.float("attention_dropout", default: 0.1)!,
            maxPositionEmbeddings: try json.int("max_position_embeddings", default: 512)!,
            typeVocabSize: 0, layerNormEps: 1e-12)  // DistilBERT's LayerNorms use eps 1e-12, not a key
        config.family = .distilBERT
        // The head's dropout is always seq_classif_dropout (default 0.2), never hidden dropout.
        config.classifierDropout = try json.float("seq_classif_dropout", default: 0.2)
        config.positionEncoding = try json.bool("sinusoidal_pos_embds", default: false) ? .sinusoidal : .learned
        config.modelType = try json.string("model_type", default: nil)
        config.padTokenId = try json.int("pad_token_id", default: 0)
        return config
    }
}

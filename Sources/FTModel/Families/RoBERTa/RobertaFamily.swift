import Foundation

extension EncoderFamily {
    /// RoBERTa (`RobertaModel`, `RobertaForSequenceClassification`; Liu et al. 2019).
    ///
    /// BERT's layer under BERT's names with the `roberta.` prefix; what differs is around it:
    /// - positions start at `pad_token_id + 1` and skip padding, padding sits at `pad_token_id`
    ///   (`create_position_ids_from_input_ids`); both that position row and the word row
    ///   `pad_token_id` (1) are `nn.Embedding` padding rows without gradient;
    /// - one token type (`type_vocab_size` 1);
    /// - no pooler in the bare model: the sequence head is `RobertaClassificationHead` —
    ///   `classifier.out_proj(dropout(tanh(classifier.dense(dropout(h₀)))))` on `<s>`, both
    ///   dropouts `classifier_dropout` falling back to `hidden_dropout_prob`;
    /// - token and QA heads are BERT's (`classifier`, `qa_outputs`).
    /// reference: transformers `models/roberta/modeling_roberta.py`.
    public static let roberta = robertaShaped(
        name: "roberta", modelTypes: ["roberta"], stem: "Roberta")

    /// XLM-RoBERTa (`XLMRobertaForSequenceClassification`): RoBERTa's architecture and tensor
    /// names (`roberta.` prefix) under its own `model_type`. Its SentencePiece (Unigram)
    /// tokenizer is `UnigramTokenizer`, which `EncoderTokenizers.load` picks.
    public static let xlmRoBERTa = robertaShaped(
        name: "xlm-roberta", modelTypes: ["xlm-roberta"], stem: "XLMRoberta")

    static func robertaShaped(name: String, modelTypes: [String], stem: String) -> EncoderFamily {
        EncoderFamily(
            name: name, modelTypes: modelTypes,
            sequenceClassificationArchitecture: stem + "ForSequenceClassification", baseArchitecture: stem + "Model",
            names: EncoderTensorNames(
                basePrefix: "roberta.",
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
                pooler: "classifier.dense", poolerInHead: true, classifier: "classifier.out_proj"),
            poolerActivation: .tanh,
            readConfig: { json in
                var config = try readBertConfig(json)
                // RobertaConfig's default pad_token_id is 1 (`<pad>`), not BERT's 0.
                config.padTokenId = try json.int("pad_token_id", default: 1)
                config.family = family(named: name)
                return config
            },
            writeConfig: { config, object in
                object["hidden_dropout_prob"] = Double(config.hiddenDropoutProb)
                object["attention_probs_dropout_prob"] = Double(config.attentionProbsDropoutProb)
                object["classifier_dropout"] = config.classifierDropout.map { Double($0) } ?? NSNull()
            },
            positionIds: .afterPadding, dropoutBeforePooler: true, perTokenHeadDropout: .bert)
    }

    /// The RoBERTa-shaped family of that name (the statics are built by `robertaShaped`, so its
    /// `readConfig` looks the family up rather than capturing itself).
    private static func family(named name: String) -> EncoderFamily {
        name == "roberta" ? .roberta : .xlmRoBERTa
    }
}

extension EncoderConfig {
    /// The longest sequence the position table allows: `max_position_embeddings`, less
    /// `pad_token_id + 1` where positions start after the padding index (RoBERTa: 514 → 512).
    public var maxSequenceLength: Int {
        switch family.positionIds {
        case .sequential: return maxPositionEmbeddings
        case .afterPadding: return maxPositionEmbeddings - (padTokenId ?? 1) - 1
        }
    }
}

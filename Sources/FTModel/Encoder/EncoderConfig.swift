import Foundation

/// The sizes and settings of an encoder of the BERT shape, whatever its family: the subset of a
/// Hugging Face BERT `config.json` that the encoder needs, under BERT's key names. Other families
/// map their own keys onto it in their family file (DistilBERT's `dim` is `hiddenSize`).
/// Decoding (`Codable`) reads BERT's keys, as reference files store them.
public struct EncoderConfig: Codable, Sendable, Equatable {
    /// The family whose names and head the model uses (not part of BERT's keys).
    public var family: EncoderFamily = .bert
    /// Learned position embeddings (BERT), or DistilBERT's fixed sinusoids (`sinusoidal_pos_embds`).
    public var positionEncoding: PositionEncoding = .learned
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var hiddenDropoutProb: Float
    public var attentionProbsDropoutProb: Float
    /// Dropout before the classifier; nil means `hidden_dropout_prob`, as in Hugging Face.
    public var classifierDropout: Float?
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var positionEmbeddingType: String?
    public var modelType: String?
    public var padTokenId: Int?
    /// Heads removed from each layer (Hugging Face's `pruned_heads`, `{layer: [head, …]}` in the
    /// original head numbering); empty for an unpruned model. See `EncoderConfig+PrunedHeads`.
    public var prunedHeads: [Int: [Int]] = [:]

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case classifierDropout = "classifier_dropout"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", positionEmbeddingType = "position_embedding_type"
        case modelType = "model_type", padTokenId = "pad_token_id"
        case prunedHeads = "pruned_heads"
    }

    /// How positions enter the embeddings.
    public enum PositionEncoding: String, Sendable, Equatable {
        /// A trained table `(max_position_embeddings, C)`.
        case learned
        /// A fixed table of sinusoids (Vaswani et al.), not trained: DistilBERT's `sinusoidal_pos_embds`.
        case sinusoidal
    }

    public init(
        vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
        intermediateSize: Int, hiddenAct: String = "gelu", hiddenDropoutProb: Float = 0.1,
        attentionProbsDropoutProb: Float = 0.1, maxPositionEmbeddings: Int = 512,
        typeVocabSize: Int = 2, layerNormEps: Float = 1e-12
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.positionEmbeddingType = "absolute"
        self.modelType = "bert"
        self.padTokenId = 0
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        // Defaults are Hugging Face's BertConfig defaults.
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        hiddenDropoutProb = try c.decodeIfPresent(Float.self, forKey: .hiddenDropoutProb) ?? 0.1
        attentionProbsDropoutProb = try c.decodeIfPresent(Float.self, forKey: .attentionProbsDropoutProb) ?? 0.1
        classifierDropout = try c.decodeIfPresent(Float.self, forKey: .classifierDropout)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        prunedHeads = try c.decodeIfPresent([Int: [Int]].self, forKey: .prunedHeads) ?? [:]
    }

    /// Reads and validates `config.json`: the registry picks the family from `model_type` (or
    /// `architectures`) and the family reads its keys; errors name the file and the offending key.
    public static func load(path: String) throws -> EncoderConfig {
        let config = try ModelRegistry.encoderFamily(configPath: path).config
        try config.validate(source: path)
        return config
    }

    /// Rejects what this encoder cannot compute exactly, naming the key (with the family's
    /// spelling of it where the family renames it).
    public func validate(source: String = "config") throws {
        func fail(_ reason: String) -> ModelError { .badConfig(source, reason) }
        guard hiddenAct == "gelu" else {
            throw fail("\(key("hidden_act")) \"\(hiddenAct)\" is not supported (only \"gelu\", the exact erf form)")
        }
        if let p = positionEmbeddingType, p != "absolute" {
            throw fail("position_embedding_type \"\(p)\" is not supported (only \"absolute\")")
        }
        for (name, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize),
            ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
            ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings),
        ] where value <= 0 {
            throw fail("\(key(name)) must be positive, got \(value)")
        }
        guard family.names.tokenTypeEmbeddings == nil || typeVocabSize > 0 else {
            throw fail("type_vocab_size must be positive, got \(typeVocabSize)")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw fail("\(key("hidden_size")) \(hiddenSize) is not a multiple of \(key("num_attention_heads")) \(numAttentionHeads)")
        }
        try validatePrunedHeads(fail: fail)
        guard layerNormEps > 0 else { throw fail("layer_norm_eps must be positive") }
        for (name, p) in [
            ("hidden_dropout_prob", hiddenDropoutProb),
            ("attention_probs_dropout_prob", attentionProbsDropoutProb),
            ("classifier_dropout", classifierDropout ?? 0),
        ] where !(0..<1).contains(p) {
            throw fail("\(key(name)) must be in [0, 1), got \(p)")
        }
        // Far beyond any real encoder; the weights decide the rest (`EncoderModel.load` compares them).
        let limit = 1 << 31
        for (name, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings), ("type_vocab_size", typeVocabSize),
        ]
        where value > limit {
            throw fail("\(key(name)) \(value) is absurdly large (more than 2^31)")
        }
        guard numHiddenLayers <= 4096 else { throw fail("\(key("num_hidden_layers")) \(numHiddenLayers) is absurdly large (more than 4096)") }
    }

    /// The family's name of BERT's config key `bertKey` (DistilBERT calls `hidden_size` `dim`).
    func key(_ bertKey: String) -> String { family.configKeys[bertKey] ?? bertKey }
}

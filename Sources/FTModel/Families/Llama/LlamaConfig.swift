import Foundation

/// The sizes of a Llama-architecture decoder (`LlamaForCausalLM`: SmolLM2, TinyLlama, Llama 2/3
/// without rope scaling), read from a Hugging Face `config.json` (`model_type: llama`) or from GGUF
/// metadata. Settings fttrain does not compute (biases, another activation, rope scaling) are
/// refused by their key name rather than silently ignored.
public struct LlamaConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool

    public init(
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
        numKeyValueHeads: Int, headDim: Int? = nil, rmsNormEps: Float = 1e-5, ropeTheta: Double = 10000,
        maxPositionEmbeddings: Int = 2048, tieWordEmbeddings: Bool = true
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
    }

    /// Width of the query projection (NH·D).
    public var queryWidth: Int { numAttentionHeads * headDim }
    /// Width of the key and of the value projection (NKV·D).
    public var keyValueWidth: Int { numKeyValueHeads * headDim }

    /// Reads a `config.json` of `model_type: llama` (or `architectures: [LlamaForCausalLM]`).
    /// - Throws: `ModelError.badConfig` naming the file and the key: a missing or mistyped size, a
    ///   bias (`attention_bias`, `mlp_bias`), an activation other than silu, `rope_scaling`.
    public static func read(_ json: ConfigJSON) throws -> LlamaConfig {
        if let act = try json.string("hidden_act", default: "silu"), act != "silu" {
            throw json.fail("hidden_act \"\(act)\" is not supported for llama (only silu)")
        }
        for key in ["attention_bias", "mlp_bias"] where try json.bool(key, default: false) {
            throw json.fail("\(key) true is not supported for llama (fttrain's Llama has no biases)")
        }
        if let scaling = json.object["rope_scaling"], !(scaling is NSNull) {
            throw json.fail("rope_scaling \(scaling) is not supported (only the default rotary embedding)")
        }
        if let pretraining = try json.int("pretraining_tp", default: 1), pretraining != 1 {
            throw json.fail("pretraining_tp \(pretraining) is not supported (only 1)")
        }
        // transformers ≥ 5 writes `rope_parameters: {rope_theta, rope_type}` instead of `rope_theta`.
        var theta = try json.float("rope_theta", default: nil).map(Double.init)
        if let parameters = json.object["rope_parameters"] as? [String: Any] {
            let nested = ConfigJSON(path: json.path, object: parameters)
            if let type = try nested.string("rope_type", default: "default"), type != "default" {
                throw json.fail("rope_parameters.rope_type \"\(type)\" is not supported (only default)")
            }
            if let value = parameters["rope_theta"] as? NSNumber { theta = value.doubleValue }
        }
        let heads = try json.int("num_attention_heads")
        let config = LlamaConfig(
            vocabSize: try json.int("vocab_size"), hiddenSize: try json.int("hidden_size"),
            intermediateSize: try json.int("intermediate_size"), numHiddenLayers: try json.int("num_hidden_layers"),
            numAttentionHeads: heads, numKeyValueHeads: try json.int("num_key_value_heads", default: heads) ?? heads,
            headDim: try json.int("head_dim", default: nil), rmsNormEps: try json.float("rms_norm_eps", default: 1e-6) ?? 1e-6,
            ropeTheta: theta ?? 10000, maxPositionEmbeddings: try json.int("max_position_embeddings", default: 2048) ?? 2048,
            tieWordEmbeddings: try json.bool("tie_word_embeddings", default: false))
        try config.validate(source: json.path)
        return config
    }

    /// Checks that the sizes are positive and consistent, naming the key and `source` when not.
    public func validate(source: String) throws {
        func fail(_ reason: String) -> ModelError { .badConfig(source, reason) }
        for (key, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
            ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim), ("max_position_embeddings", maxPositionEmbeddings),
        ] where value < 1 {
            throw fail("\(key) must be >= 1, found \(value)")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        guard headDim % 2 == 0 else { throw fail("head_dim \(headDim) must be even (rotary pairs)") }
        guard rmsNormEps > 0, rmsNormEps.isFinite else { throw fail("rms_norm_eps must be > 0, found \(rmsNormEps)") }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw fail("rope_theta must be > 0, found \(ropeTheta)") }
    }

    /// The keys of `config.json` that describe this config (for export), in Hugging Face's spelling.
    public func write(into object: inout [String: Any]) {
        object["model_type"] = "llama"
        object["vocab_size"] = vocabSize
        object["hidden_size"] = hiddenSize
        object["intermediate_size"] = intermediateSize
        object["num_hidden_layers"] = numHiddenLayers
        object["num_attention_heads"] = numAttentionHeads
        object["num_key_value_heads"] = numKeyValueHeads
        object["head_dim"] = headDim
        object["rms_norm_eps"] = Double(rmsNormEps)
        object["rope_theta"] = ropeTheta
        object["max_position_embeddings"] = maxPositionEmbeddings
        object["tie_word_embeddings"] = tieWordEmbeddings
        object["hidden_act"] = "silu"
        object["attention_bias"] = false
        object["mlp_bias"] = false
    }
}

import FTCore
import Foundation

/// Loading a Llama from a llama.cpp GGUF file (`general.architecture` llama), de-quantised to
/// float32 exactly as transformers' GGUF loader does (`AutoModelForCausalLM.from_pretrained(...,
/// gguf_file=...)`), including the undoing of llama.cpp's q/k row permutation.
extension LlamaModel {
    /// The store name of each GGUF tensor of a Llama: `token_embd.weight` → `model.embed_tokens.weight`,
    /// `blk.N.attn_q.weight` → `model.layers.N.self_attn.q_proj.weight`, ...; nil for others.
    public static func storeName(ggufTensor name: String) -> String? {
        switch name {
        case "token_embd.weight": return LlamaTensorNames.embedTokens
        case "output_norm.weight": return LlamaTensorNames.finalNorm
        case "output.weight": return LlamaTensorNames.lmHead
        default: break
        }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let l = Int(parts[1]), parts[3] == "weight" else { return nil }
        switch parts[2] {
        case "attn_norm": return LlamaTensorNames.inputNorm(l)
        case "ffn_norm": return LlamaTensorNames.postAttentionNorm(l)
        case "attn_q": return LlamaTensorNames.weight(l, .q)
        case "attn_k": return LlamaTensorNames.weight(l, .k)
        case "attn_v": return LlamaTensorNames.weight(l, .v)
        case "attn_output": return LlamaTensorNames.weight(l, .o)
        case "ffn_gate": return LlamaTensorNames.weight(l, .gate)
        case "ffn_up": return LlamaTensorNames.weight(l, .up)
        case "ffn_down": return LlamaTensorNames.weight(l, .down)
        default: return nil
        }
    }

    /// The config of a Llama GGUF file from its metadata (`llama.*` keys), checked against the
    /// embedding table's shape. Tied embeddings when `output.weight` is absent.
    /// - Throws: `ModelError.badConfig` naming the file and the key (another architecture, rope
    ///   scaling, sizes that disagree with the tensors); `GGUFError` for a missing or mistyped key.
    public static func config(gguf file: GGUFFile) throws -> LlamaConfig {
        let path = file.path
        let architecture = try file.string("general.architecture")
        guard architecture == "llama" else {
            throw ModelError.badConfig(path, "general.architecture \"\(architecture)\" is not supported (only llama)")
        }
        if let scaling = try file.optionalString("llama.rope.scaling.type"), scaling != "none" {
            throw ModelError.badConfig(path, "llama.rope.scaling.type \"\(scaling)\" is not supported (only the default rotary embedding)")
        }
        guard let embedding = file.tensor(named: "token_embd.weight"), embedding.shape.count == 2 else {
            throw ModelError.missingTensor(file: path, tensor: "token_embd.weight")
        }
        let heads = try file.int("llama.attention.head_count")
        let hidden = try file.int("llama.embedding_length")
        var vocabulary = try file.optionalInt("llama.vocab_size")
        if vocabulary == nil, file.metadata["tokenizer.ggml.tokens"] != nil {
            vocabulary = try file.stringArray("tokenizer.ggml.tokens").count
        }
        let config = LlamaConfig(
            vocabSize: vocabulary ?? embedding.shape[0], hiddenSize: hidden,
            intermediateSize: try file.int("llama.feed_forward_length"), numHiddenLayers: try file.int("llama.block_count"),
            numAttentionHeads: heads, numKeyValueHeads: try file.optionalInt("llama.attention.head_count_kv") ?? heads,
            headDim: try file.optionalInt("llama.attention.key_length"),
            rmsNormEps: Float(try file.float("llama.attention.layer_norm_rms_epsilon")),
            ropeTheta: try file.optionalFloat("llama.rope.freq_base") ?? 10000,
            maxPositionEmbeddings: try file.int("llama.context_length"),
            tieWordEmbeddings: file.tensor(named: "output.weight") == nil)
        try config.validate(source: path)
        guard embedding.shape == [config.vocabSize, config.hiddenSize] else {
            throw ModelError.badConfig(
                path,
                "llama.vocab_size \(config.vocabSize) and llama.embedding_length \(hidden) disagree with token_embd.weight of shape \(embedding.shape)"
            )
        }
        if let rotary = try file.optionalInt("llama.rope.dimension_count"), rotary != config.headDim {
            throw ModelError.badConfig(
                path, "llama.rope.dimension_count \(rotary) is not the head dimension \(config.headDim) (partial rotary is not supported)")
        }
        return config
    }

    /// Loads a Llama from a GGUF file: every tensor de-quantised to float32 into its store place,
    /// q and k rows put back in Hugging Face's order. `peft` adds LoRA tensors (zero).
    /// - Throws: `ModelError` naming the file and the tensor (missing, misshapen, unexpected) or
    ///   the key; `GGUFError` for a tensor type fttrain cannot de-quantise.
    public static func load(gguf url: URL, peft: PEFTSetup? = nil) throws -> LlamaModel {
        let file = try GGUFFile(url: url)
        let config = try config(gguf: file)
        // Every tensor has a place and the right shape before anything large is allocated.
        let expected = Dictionary(uniqueKeysWithValues: layout(config: config, lora: nil).map { ($0.name, $0.shape) })
        var found = Set<String>()
        for info in file.tensors {
            guard let name = storeName(ggufTensor: info.name), let shape = expected[name] else {
                if info.name == "rope_freqs.weight" {
                    throw ModelError.badConfig(file.path, "tensor rope_freqs.weight (scaled rotary frequencies) is not supported")
                }
                throw ModelError.badConfig(file.path, "tensor \(info.name) has no place in a llama model of this config")
            }
            guard info.shape == shape else {
                throw ModelError.shapeMismatch(file: file.path, tensor: info.name, expected: shape, found: info.shape)
            }
            found.insert(name)
        }
        for name in expected.keys where !found.contains(name) {
            throw ModelError.missingTensor(file: file.path, tensor: ggufName(storeName: name) ?? name)
        }
        let model = try LlamaModel(config: config, peft: peft)
        for info in file.tensors {
            let name = storeName(ggufTensor: info.name)!
            let destination = UnsafeMutableBufferPointer(start: model.store.value(name), count: info.elementCount)
            try file.dequantize(info, into: destination)
            if name.hasSuffix("self_attn.q_proj.weight") {
                unpermuteRotaryRows(destination, heads: config.numAttentionHeads, columns: config.hiddenSize)
            } else if name.hasSuffix("self_attn.k_proj.weight") {
                unpermuteRotaryRows(destination, heads: config.numKeyValueHeads, columns: config.hiddenSize)
            }
        }
        return model
    }

    /// The GGUF name of a store tensor (llama.cpp's converter's), nil for LoRA tensors.
    public static func ggufName(storeName name: String) -> String? {
        switch name {
        case LlamaTensorNames.embedTokens: return "token_embd.weight"
        case LlamaTensorNames.finalNorm: return "output_norm.weight"
        case LlamaTensorNames.lmHead: return "output.weight"
        default: break
        }
        guard let l = LlamaTensorNames.layer(ofTensor: name) else { return nil }
        let suffixes: [(String, String)] = [
            ("input_layernorm.weight", "attn_norm"), ("post_attention_layernorm.weight", "ffn_norm"),
            ("self_attn.q_proj.weight", "attn_q"), ("self_attn.k_proj.weight", "attn_k"), ("self_attn.v_proj.weight", "attn_v"),
            ("self_attn.o_proj.weight", "attn_output"), ("mlp.gate_proj.weight", "ffn_gate"), ("mlp.up_proj.weight", "ffn_up"),
            ("mlp.down_proj.weight", "ffn_down"),
        ]
        return suffixes.first { name.hasSuffix($0.0) }.map { "blk.\(l).\($0.1).weight" }
    }

    /// Undoes llama.cpp's permutation of q/k rows (`w.reshape(heads, 2, D/2, in).swapaxes(1, 2)`):
    /// within each head, GGUF row `2j + s` is Hugging Face's row `s · D/2 + j`.
    static func unpermuteRotaryRows(_ weight: UnsafeMutableBufferPointer<Float>, heads: Int, columns: Int) {
        let rows = weight.count / columns, D = rows / heads, half = D / 2
        let copy = Array(weight)
        copy.withUnsafeBufferPointer { source in
            for h in 0..<heads {
                for j in 0..<half {
                    for s in 0..<2 {
                        let from = source.baseAddress! + (h * D + 2 * j + s) * columns
                        (weight.baseAddress! + (h * D + s * half + j) * columns).update(from: from, count: columns)
                    }
                }
            }
        }
    }
}

import FTCore
import FTModel
import Foundation

/// Writes a Llama as a llama.cpp GGUF file (v3) that gguf-py reads, transformers loads
/// (`from_pretrained(dir, gguf_file=...)`) and fttrain loads back (`LlamaModel.load(gguf:)`):
/// llama.cpp's converter's tensor names (`blk.N.attn_q.weight`) and order, its q/k row permutation
/// re-applied, the `general.*` and `llama.*` keys, and the tokenizer's `tokenizer.ggml.*` metadata.
///
/// F32 stores the weights exactly; F16 stores the matrices as half floats (rounded to nearest even)
/// and keeps the 1-D norm weights in F32, as llama.cpp's `--outtype f16` does.
public enum GGUFExport {
    /// The storage of the matrices.
    public enum Precision: String, CaseIterable, Sendable {
        case f32, f16

        /// `general.file_type` (llama.cpp's `LLAMA_FTYPE_ALL_F32` / `MOSTLY_F16`).
        var fileType: UInt32 { self == .f32 ? 0 : 1 }
    }

    /// Writes `model` (LoRA merged, or none) to `url`, staged and renamed into place.
    /// - Parameters:
    ///   - tokenizer: its metadata makes the file self-contained (transformers and `fttrain
    ///     generate` need it); nil writes the weights and config only.
    ///   - name: `general.name`.
    /// - Throws: `ModelError.badConfig` for unmerged LoRA branches; `GGUFError` naming the file
    ///   or tensor when writing fails.
    public static func write(
        model: LlamaModel, tokenizer: ByteLevelBPETokenizer?, name: String, precision: Precision, to url: URL
    ) throws {
        if let branches = model.peft?.loraBranches, !branches.isMerged {
            throw ModelError.badConfig(url.path, "the LoRA branches must be merged into the weights before a GGUF export")
        }
        let config = model.config
        var writer = GGUFWriter()
        for (key, value) in metadata(config: config, name: name, precision: precision) { writer.add(key: key, value) }
        if let tokenizer {
            guard tokenizer.vocabularySize == config.vocabSize else {
                throw ModelError.badConfig(
                    url.path, "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary is \(config.vocabSize)")
            }
            for (key, value) in tokenizer.ggufMetadata() { writer.add(key: key, value) }
        }
        for storeName in tensorOrder(config: config) {
            guard let ggufName = LlamaModel.ggufName(storeName: storeName), let view = model.store.views.first(where: { $0.name == storeName })
            else {
                throw ModelError.missingTensor(file: url.path, tensor: storeName)
            }
            var values = Array(UnsafeBufferPointer(start: model.store.value(storeName), count: view.count))
            if storeName.hasSuffix("self_attn.q_proj.weight") {
                permuteRotaryRows(&values, heads: config.numAttentionHeads, columns: config.hiddenSize)
            } else if storeName.hasSuffix("self_attn.k_proj.weight") {
                permuteRotaryRows(&values, heads: config.numKeyValueHeads, columns: config.hiddenSize)
            }
            let type: GGMLType = precision == .f16 && view.shape.count > 1 ? .f16 : .f32
            do {
                try values.withUnsafeBufferPointer { try writer.addTensor(name: ggufName, shape: view.shape, values: $0, type: type) }
            } catch let error as GGUFError {
                throw GGUFError(path: url.path, tensor: ggufName, reason: error.reason)
            }
        }
        try writer.write(to: url)
    }

    /// The `general.*` and `llama.*` keys of `convert_hf_to_gguf.py`, in its order.
    static func metadata(config: LlamaConfig, name: String, precision: Precision) -> [(String, GGUFValue)] {
        [
            ("general.architecture", .string("llama")),
            ("general.type", .string("model")),
            ("general.name", .string(name)),
            ("llama.block_count", .uint32(UInt32(config.numHiddenLayers))),
            ("llama.context_length", .uint32(UInt32(config.maxPositionEmbeddings))),
            ("llama.embedding_length", .uint32(UInt32(config.hiddenSize))),
            ("llama.feed_forward_length", .uint32(UInt32(config.intermediateSize))),
            ("llama.attention.head_count", .uint32(UInt32(config.numAttentionHeads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(config.numKeyValueHeads))),
            ("llama.rope.freq_base", .float32(Float(config.ropeTheta))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(config.rmsNormEps)),
            ("llama.attention.key_length", .uint32(UInt32(config.headDim))),
            ("llama.attention.value_length", .uint32(UInt32(config.headDim))),
            ("general.file_type", .uint32(precision.fileType)),
            ("llama.vocab_size", .uint32(UInt32(config.vocabSize))),
            ("llama.rope.dimension_count", .uint32(UInt32(config.headDim))),
            ("general.quantization_version", .uint32(2)),
        ]
    }

    /// Store names in llama.cpp's tensor order: the embedding, each layer's tensors, the final
    /// norm, the untied output projection.
    static func tensorOrder(config: LlamaConfig) -> [String] {
        var names = [LlamaTensorNames.embedTokens]
        for l in 0..<config.numHiddenLayers {
            names.append(LlamaTensorNames.inputNorm(l))
            for module in [LlamaLinearModule.q, .k, .v, .o] { names.append(LlamaTensorNames.weight(l, module)) }
            names.append(LlamaTensorNames.postAttentionNorm(l))
            for module in [LlamaLinearModule.gate, .up, .down] { names.append(LlamaTensorNames.weight(l, module)) }
        }
        names.append(LlamaTensorNames.finalNorm)
        if !config.tieWordEmbeddings { names.append(LlamaTensorNames.lmHead) }
        return names
    }

    /// llama.cpp's permutation of q/k rows (`w.reshape(heads, 2, D/2, in).swapaxes(1, 2)`): within
    /// each head, Hugging Face's row `s · D/2 + j` becomes GGUF row `2j + s` (the inverse of the
    /// loader's un-permutation).
    static func permuteRotaryRows(_ weight: inout [Float], heads: Int, columns: Int) {
        let rows = weight.count / columns, D = rows / heads, half = D / 2
        let source = weight
        for h in 0..<heads {
            for j in 0..<half {
                for s in 0..<2 {
                    let to = (h * D + 2 * j + s) * columns, from = (h * D + s * half + j) * columns
                    weight.replaceSubrange(to..<(to + columns), with: source[from..<(from + columns)])
                }
            }
        }
    }
}

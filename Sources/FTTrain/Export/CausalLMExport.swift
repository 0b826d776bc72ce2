import FTCore
import FTModel
import Foundation

/// The parts of a Hugging Face directory that a decoder needs beyond a classifier's: the special
/// token ids and `torch_dtype` in `config.json`, and `generation_config.json`, so that
/// `AutoModelForCausalLM.from_pretrained(dir)` and `generate` behave as with the base model.
///
/// The token ids come from the base `config.json` when it names them (transformers' own), else
/// from the directory's tokenizer (`tokenizer.json` + `tokenizer_config.json`), as for a GGUF base.
enum CausalLMExport {
    /// Special token ids: `bos_token_id`, `eos_token_id`, `pad_token_id`, `unk_token_id`.
    struct TokenIds: Equatable {
        var bos: Int?
        var eos: Int?
        var pad: Int?
        var unk: Int?
    }

    /// Completes the staged export `directory` (config.json, tokenizer files already written):
    /// adds the missing token ids and the dtype to `config.json`, and writes
    /// `generation_config.json` (the base's copied when it has one, else transformers'
    /// `GenerationConfig.from_model_config`). `dtype` names the element type of `model.safetensors`
    /// (float32, or bfloat16/float16 under `save_dtype`).
    /// - Throws: `ModelError.badConfig` naming the file when config.json or the tokenizer is unreadable.
    static func complete(directory: URL, base: URL, dtype: String = "float32") throws {
        let configURL = directory.appendingPathComponent("config.json")
        var config = try readObject(configURL)
        let ids = try tokenIds(config: config, tokenizerDirectory: directory)
        for (key, value) in [("bos_token_id", ids.bos), ("eos_token_id", ids.eos), ("pad_token_id", ids.pad), ("unk_token_id", ids.unk)] {
            if let value { config[key] = value }
        }
        // transformers 5 reads `dtype`, 4.x `torch_dtype`: the weights' own type, whatever the base's was.
        config["dtype"] = dtype
        config["torch_dtype"] = dtype
        config["use_cache"] = config["use_cache"] ?? true
        try writeObject(config, to: configURL)

        let generationURL = directory.appendingPathComponent("generation_config.json")
        let baseGeneration = base.appendingPathComponent("generation_config.json")
        if base.pathExtension.lowercased() != "gguf", FileManager.default.fileExists(atPath: baseGeneration.path) {
            try FileManager.default.copyItem(at: baseGeneration, to: generationURL)
        } else {
            try writeObject(generationConfig(ids), to: generationURL)
        }
    }

    /// The ids `config` names, the missing ones filled from the tokenizer files of `tokenizerDirectory`
    /// (none when it has no `tokenizer.json`).
    static func tokenIds(config: [String: Any], tokenizerDirectory: URL) throws -> TokenIds {
        var ids = TokenIds(
            bos: config["bos_token_id"] as? Int, eos: config["eos_token_id"] as? Int, pad: config["pad_token_id"] as? Int,
            unk: config["unk_token_id"] as? Int)
        guard FileManager.default.fileExists(atPath: tokenizerDirectory.appendingPathComponent("tokenizer.json").path) else { return ids }
        let tokenizer = try ByteLevelBPETokenizer.load(directory: tokenizerDirectory)
        ids.bos = ids.bos ?? tokenizer.bosTokenId.map(Int.init)
        ids.eos = ids.eos ?? Int(tokenizer.eosTokenId)
        ids.pad = ids.pad ?? Int(tokenizer.padTokenId)
        ids.unk = ids.unk ?? tokenizer.unkTokenId.map(Int.init)
        return ids
    }

    /// `generation_config.json` as `GenerationConfig.from_model_config(config).save_pretrained`
    /// writes it for a Llama (without `transformers_version`).
    static func generationConfig(_ ids: TokenIds) -> [String: Any] {
        var object: [String: Any] = [
            "_from_model_config": true, "output_attentions": false, "output_hidden_states": false, "use_cache": true,
        ]
        if let bos = ids.bos { object["bos_token_id"] = bos }
        if let eos = ids.eos { object["eos_token_id"] = eos }
        if let pad = ids.pad { object["pad_token_id"] = pad }
        return object
    }

    static func readObject(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw ModelError.missingFile(url.path) }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.badConfig(url.path, "not a JSON object")
        }
        return object
    }

    static func writeObject(_ object: [String: Any], to url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url, options: .atomic)
    }
}

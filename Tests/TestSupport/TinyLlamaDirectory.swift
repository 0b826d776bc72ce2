import FTCore
import FTModel
import Foundation

/// Writes a deterministic tiny random Llama (`LlamaForCausalLM`, tied embeddings, grouped-query
/// attention) as a Hugging Face model directory with the tiny byte-level BPE tokenizer of the bpe
/// fixtures (300 tokens, ChatML specials, a BOS it adds), for causal-LM training and `generate`
/// tests that run in seconds.
public enum TinyLlamaDirectory {
    /// The tokenizer files copied into the directory (`tokenizer.json`, `tokenizer_config.json`).
    public static var tokenizerFixture: URL {
        TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/bpe/tiny")
    }

    public static func write(to directory: URL, hiddenSize: Int = 32, layers: Int = 2, seed: UInt64 = 1) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in ["tokenizer.json", "tokenizer_config.json"] {
            let target = directory.appendingPathComponent(file)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: tokenizerFixture.appendingPathComponent(file), to: target)
        }
        let tokenizer = try ByteLevelBPETokenizer.load(directory: directory)
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": tokenizer.vocabularySize,
            "hidden_size": hiddenSize, "intermediate_size": hiddenSize * 3 / 2, "num_hidden_layers": layers,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": hiddenSize / 4, "hidden_act": "silu",
            "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": true,
            "bos_token_id": Int(tokenizer.bosTokenId ?? 0), "eos_token_id": Int(tokenizer.eosTokenId),
            "pad_token_id": Int(tokenizer.padTokenId),
        ]
        let configURL = directory.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: configURL)
        let model = try LlamaModel(config: LlamaConfig.read(ModelRegistry.readConfigJSON(path: configURL.path)))
        var rng = SeededRNG(seed: seed)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.1, only: nil)
        var writer = SafeTensorsWriter()
        for view in model.store.views {
            try writer.add(
                model.tensorNames.checkpointName(view.name), shape: view.shape,
                floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count))
        }
        try writer.write(toPath: directory.appendingPathComponent("model.safetensors").path)
    }
}

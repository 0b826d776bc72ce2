import FTCore
import FTModel
import Foundation

/// Writes a deterministic tiny random BERT (or another encoder family) as a Hugging Face model
/// directory (`config.json`, `vocab.txt`, `model.safetensors`), for command-line tests that must
/// run in seconds (assets.md: no pretrained model small enough ships in a package).
public enum TinyModelDirectory {
    /// Special tokens first, as BERT vocabularies have them, then the given words.
    public static func write(
        to directory: URL, words: [String], hiddenSize: Int = 32, layers: Int = 2,
        heads: Int = 4, seed: UInt64 = 1, family: EncoderFamily = .bert
    ) throws {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try (vocabulary.joined(separator: "\n") + "\n").write(
            to: directory.appendingPathComponent("vocab.txt"),
            atomically: true, encoding: .utf8)
        let config: [String: Any] =
            family == .distilBERT
            ? [
                "model_type": "distilbert", "architectures": ["DistilBertModel"], "vocab_size": vocabulary.count,
                "dim": hiddenSize, "n_layers": layers, "n_heads": heads, "hidden_dim": hiddenSize * 2, "activation": "gelu",
                "dropout": 0.1, "attention_dropout": 0.1, "seq_classif_dropout": 0.2, "max_position_embeddings": 64,
                "sinusoidal_pos_embds": false, "pad_token_id": 0,
            ]
            : [
                "model_type": "bert", "architectures": ["BertModel"], "vocab_size": vocabulary.count,
                "hidden_size": hiddenSize, "num_hidden_layers": layers, "num_attention_heads": heads,
                "intermediate_size": hiddenSize * 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
                "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
            ]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
        let model = try EncoderModel(config: EncoderConfig.load(path: directory.appendingPathComponent("config.json").path))
        precondition(model.family == family, "the registry read \(model.family), not \(family)")
        var rng = SeededRNG(seed: seed)
        model.initializeRandomly(rng: &rng)
        var writer = SafeTensorsWriter()
        for view in model.store.views {
            try writer.add(
                view.name, shape: view.shape,
                floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count))
        }
        try writer.write(toPath: directory.appendingPathComponent("model.safetensors").path)
    }
}

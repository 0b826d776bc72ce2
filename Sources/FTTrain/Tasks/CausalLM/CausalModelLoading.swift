import FTCore
import FTModel
import Foundation

/// Finds and loads a decoder model and its tokenizer, for `fttrain train` (`task: causal_lm`) and
/// `fttrain generate`: a Hugging Face model directory (`config.json` naming a decoder family,
/// `model.safetensors`, `tokenizer.json`) or a `.gguf` file (weights and tokenizer in one).
public enum CausalModelLoading {
    /// A model ready to train or generate with, and its tokenizer.
    public struct Loaded {
        public let model: any CausalLanguageModel
        public let tokenizer: any CausalTokenizer
        /// Writes the tokenizer as Hugging Face files (`tokenizer.json`, `tokenizer_config.json`)
        /// into a directory, when the model came without them (a `.gguf` file), so the exported
        /// model directory is complete; nil when the source directory has them.
        public let writeTokenizerFiles: ((URL) throws -> Void)?

        public init(model: any CausalLanguageModel, tokenizer: any CausalTokenizer, writeTokenizerFiles: ((URL) throws -> Void)? = nil) {
            self.model = model
            self.tokenizer = tokenizer
            self.writeTokenizerFiles = writeTokenizerFiles
        }
    }

    /// `model_type`s of the decoder families (Llama's architecture and its close kin).
    public static let decoderModelTypes: Set<String> = ["llama", "mistral", "qwen2", "smollm", "gpt2", "gemma", "phi3"]

    /// Whether `path` names a decoder model: a `.gguf` file, or a directory whose `config.json`
    /// has a decoder `model_type` or an architecture ending in `ForCausalLM`.
    public static func isCausalModel(path: String) -> Bool {
        if path.lowercased().hasSuffix(".gguf") { return true }
        let config = URL(fileURLWithPath: path).appendingPathComponent("config.json").path
        guard let json = try? ModelRegistry.readConfigJSON(path: config) else { return false }
        if let type = json.object["model_type"] as? String, decoderModelTypes.contains(type) { return true }
        if let architectures = json.object["architectures"] as? [String] {
            return architectures.contains { $0.hasSuffix("ForCausalLM") }
        }
        return false
    }

    /// The loaders of the decoder families linked into this build, tried in order: each returns
    /// nil when `path` is not its kind. Families register here (`CausalModelLoading.register`).
    nonisolated(unsafe) private static var loaders: [(String, PEFTSetup?, UInt64) throws -> Loaded?] = []
    private static let lock = NSLock()

    /// Adds a family's loader (`ModelRegistry`'s decoder side).
    public static func register(_ loader: @escaping (_ path: String, _ peft: PEFTSetup?, _ seed: UInt64) throws -> Loaded?) {
        lock.withLock { loaders.append(loader) }
    }

    /// Loads the model and tokenizer at `path` (a HF directory or a `.gguf` file), with `peft`'s
    /// adapter tensors added, or with the trained LoRA adapter of `adapter` (PEFT's format) applied.
    /// - Throws: `ModelError` naming the path: missing, not a decoder model, or a family this build
    ///   lacks; an adapter that does not fit the model.
    public static func load(path: String, peft: PEFTSetup? = nil, seed: UInt64 = 42, adapter: URL? = nil) throws -> Loaded {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path) }
        if let adapter {
            precondition(peft == nil, "an adapter brings its own setup")
            let file = try PEFTAdapter.read(directory: adapter)
            let loaded = try load(path: path, peft: file.setup, seed: seed)
            try file.apply(to: loaded.model, source: adapter.path)
            return loaded
        }
        guard isCausalModel(path: path) else {
            throw ModelError.badConfig(
                path, "not a decoder language model (a .gguf file, or a directory whose config.json names a *ForCausalLM architecture)")
        }
        for loader in lock.withLock({ loaders }) {
            if let loaded = try loader(path, peft, seed) { return loaded }
        }
        // The decoder families of FTModel (Llama), then the tokenizer from the same place.
        guard let model = try ModelRegistry.loadCausalLanguageModel(path: path, peft: peft) else {
            throw ModelError.badConfig(path, "no decoder model family of this build reads it (supported: llama)")
        }
        let url = URL(fileURLWithPath: path)
        let tokenizer = try ByteLevelBPETokenizer.load(model: url)
        // A GGUF file carries no tokenizer files: the exports get them written from the metadata.
        guard url.pathExtension.lowercased() == "gguf" else { return Loaded(model: model, tokenizer: tokenizer) }
        return Loaded(model: model, tokenizer: tokenizer) { try tokenizer.write(to: $0) }
    }
}

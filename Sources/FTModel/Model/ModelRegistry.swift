import Foundation

/// Which family reads a model directory, picked from its `config.json` as Hugging Face's `Auto*`
/// classes pick: `model_type` first, else the class named in `architectures`.
public enum ModelRegistry {
    /// The encoder families fttrain computes; a new family is one entry here.
    public static let encoderFamilies: [EncoderFamily] = [.bert, .distilBERT, .roberta, .xlmRoBERTa]

    /// The family of a parsed `config.json`.
    /// - Throws: `ModelError.badConfig` naming `model_type` (or `architectures`) when no family
    ///   reads it, with the supported ones listed.
    public static func encoderFamily(of json: ConfigJSON) throws -> EncoderFamily {
        let supported = encoderFamilies.flatMap(\.modelTypes).joined(separator: ", ")
        if let modelType = try json.string("model_type", default: nil) {
            guard let family = encoderFamilies.first(where: { $0.modelTypes.contains(modelType) }) else {
                throw ModelError.badConfig(json.path, "model_type \"\(modelType)\" is not supported (supported: \(supported))")
            }
            return family
        }
        if let architectures = json.object["architectures"] as? [String], let architecture = architectures.first {
            // `BertForMaskedLM`, `DistilBertModel`: the class name begins with the family's stem;
            // the longest stem wins (`DistilBert` over `Bert`).
            let matching = encoderFamilies.filter { architecture.hasPrefix($0.baseArchitecture.dropLast("Model".count)) }
            guard let family = matching.max(by: { $0.baseArchitecture.count < $1.baseArchitecture.count }) else {
                throw ModelError.badConfig(
                    json.path, "architectures \(architectures) names no supported family (supported model types: \(supported))")
            }
            return family
        }
        return .bert  // older BERT configs carry neither key
    }

    /// Whether a `config.json` describes a Llama decoder: `model_type: llama`, or no model type and
    /// `architectures` naming `LlamaForCausalLM` (or another `Llama…` class).
    public static func isLlama(_ json: ConfigJSON) -> Bool {
        if let modelType = json.object["model_type"] as? String { return modelType == "llama" }
        return (json.object["architectures"] as? [String])?.first?.hasPrefix("Llama") ?? false
    }

    /// Reads `config.json` at `configPath` and picks its family.
    /// - Throws: `ModelError` naming the file: missing, not a JSON object, an unknown family, a bad key.
    public static func encoderFamily(configPath: String) throws -> (family: EncoderFamily, config: EncoderConfig) {
        let json = try readConfigJSON(path: configPath)
        let family = try encoderFamily(of: json)
        var config = try family.readConfig(json)
        config.prunedHeads = try EncoderConfig.readPrunedHeads(json)  // any family: a PretrainedConfig key
        return (family, config)
    }

    /// The JSON object of a `config.json`.
    public static func readConfigJSON(path: String) throws -> ConfigJSON {
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError.missingFile(path) }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ModelError.badConfig(path, "not a valid JSON config (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else { throw ModelError.badConfig(path, "not a JSON object") }
        return ConfigJSON(path: path, object: object)
    }
}

/// Settings a run changes in the pretrained config before the model is built, as Hugging Face's
/// `from_pretrained(..., hidden_dropout_prob=...)` does; nil keeps the config's value.
public struct ModelOverrides: Sendable, Equatable {
    /// Dropout on hidden states (BERT's `hidden_dropout_prob`, DistilBERT's `dropout`).
    public var hiddenDropout: Float?
    /// Dropout on attention probabilities.
    public var attentionDropout: Float?
    /// Dropout before the classifier.
    public var classifierDropout: Float?

    public init(hiddenDropout: Float? = nil, attentionDropout: Float? = nil, classifierDropout: Float? = nil) {
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.classifierDropout = classifierDropout
    }
}

extension ModelRegistry {
    /// Loads the model of a Hugging Face model directory (`config.json`, `model.safetensors`), or
    /// of a llama.cpp `.gguf` file (a Llama, de-quantised to float32),
    /// with a classification head of `numLabels` classes (0: none) — `head`, or when nil the one
    /// `config.json`'s `architectures` names; a head the weights lack is initialised from `seed`. `peft` adds adapter tensors (zero until initialised or loaded).
    /// `vocabularySize` resizes an encoder's word embeddings (added tokens; `EncoderModel+VocabularyResize`).
    /// - Throws: `ModelError` naming the file and the problem (unknown family, a size that
    ///   disagrees with the weights, a missing or misshapen tensor).
    public static func load(
        modelDirectory: URL, numLabels: Int = 0, head: EncoderHead? = nil, seed: UInt64 = 42, peft: PEFTSetup? = nil,
        overrides: ModelOverrides = ModelOverrides(), vocabularySize: Int? = nil
    ) throws -> any SequenceModel {
        if vocabularySize != nil && CausalModelCheck.isDecoder(modelDirectory) {
            throw ModelError.badConfig(modelDirectory.path, "add_tokens (a resized vocabulary) is supported for encoders only")
        }
        if modelDirectory.pathExtension.lowercased() == "gguf" {
            guard numLabels == 0 else {
                throw ModelError.badConfig(
                    modelDirectory.path, "a GGUF model is loaded as a causal language model; a sequence-classification head is not supported")
            }
            return try LlamaModel.load(gguf: modelDirectory, peft: peft)
        }
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        if FileManager.default.fileExists(atPath: configPath), isLlama(try readConfigJSON(path: configPath)) {
            guard numLabels == 0 else {
                throw ModelError.badConfig(
                    configPath,
                    "a llama model has no sequence-classification head here (LlamaForSequenceClassification is not supported); train it as a causal language model"
                )
            }
            return try LlamaModel.load(modelDirectory: modelDirectory, peft: peft)
        }
        // No head named: the one the directory's `architectures` names (an exported token classifier).
        var encoderHead = head ?? .sequenceClassification
        if head == nil, numLabels > 0, FileManager.default.fileExists(atPath: configPath) {
            encoderHead = EncoderHead.named(byArchitectures: try readConfigJSON(path: configPath).object["architectures"] as? [String])
        }
        return try EncoderModel.load(
            modelDirectory: modelDirectory, numLabels: numLabels, head: encoderHead, seed: seed, peft: peft, vocabularySize: vocabularySize
        ) { config in
            if let p = overrides.hiddenDropout { config.hiddenDropoutProb = p }
            if let p = overrides.attentionDropout { config.attentionProbsDropoutProb = p }
            if let p = overrides.classifierDropout { config.classifierDropout = p }
        }
    }
}

extension ModelRegistry {
    /// The decoder at `path` — a `.gguf` file or a Hugging Face directory whose `config.json` is a
    /// Llama's — with `peft`'s LoRA tensors (zero until initialised or loaded); nil when `path` is
    /// neither (another loader may read it).
    /// - Throws: `ModelError` / `GGUFError` naming the file and the problem.
    public static func loadCausalLanguageModel(path: String, peft: PEFTSetup? = nil) throws -> (any CausalLanguageModel)? {
        let url = URL(fileURLWithPath: path)
        if url.pathExtension.lowercased() == "gguf" { return try LlamaModel.load(gguf: url, peft: peft) }
        let configPath = url.appendingPathComponent("config.json").path
        guard FileManager.default.fileExists(atPath: configPath), isLlama(try readConfigJSON(path: configPath)) else { return nil }
        return try LlamaModel.load(modelDirectory: url, peft: peft)
    }
}

/// Whether a path names a decoder (a `.gguf` file or a Llama directory).
enum CausalModelCheck {
    static func isDecoder(_ url: URL) -> Bool {
        if url.pathExtension.lowercased() == "gguf" { return true }
        let configPath = url.appendingPathComponent("config.json").path
        guard FileManager.default.fileExists(atPath: configPath), let json = try? ModelRegistry.readConfigJSON(path: configPath) else { return false }
        return ModelRegistry.isLlama(json)
    }
}

import Foundation

/// One architecture of the BERT shape (embeddings, post-LayerNorm layers of self-attention and a
/// feed-forward block, a first-token head) as Hugging Face names and configures it.
///
/// A family is a value: its tensor names, what its embeddings add, its head's activation, and how
/// its `config.json` maps onto `EncoderConfig`. Everything else — the layer body, PEFT, training,
/// checkpoints, data-parallel averaging, export — is shared (`ARCHITECTURE.md`). A new family is
/// one file under `Families/<Name>/` and one entry of `ModelRegistry.encoderFamilies`.
public struct EncoderFamily: Sendable, CustomStringConvertible {
    /// fttrain's name of the family (`bert`, `distilbert`), also the `model_type` it writes.
    public let name: String
    /// The `model_type` values of `config.json` this family reads.
    public let modelTypes: [String]
    /// Hugging Face's class of a sequence classifier of this family (`BertForSequenceClassification`).
    public let sequenceClassificationArchitecture: String
    /// Hugging Face's class of the bare encoder (`BertModel`).
    public let baseArchitecture: String
    /// The names of its tensors.
    public let names: EncoderTensorNames
    /// The head's activation after the pooler (BERT's tanh, DistilBERT's ReLU).
    public let poolerActivation: PoolerActivation
    /// Whether dropout follows the attention output projection (BERT's `BertSelfOutput`; DistilBERT has none there).
    public let attentionOutputDropout: Bool
    /// Reads `config.json` (already parsed) into the shared config, naming any bad key with `path`.
    public let readConfig: @Sendable (_ json: ConfigJSON) throws -> EncoderConfig
    /// The family's spelling of BERT's config keys where it differs (`hidden_size` → `dim`), for messages.
    public let configKeys: [String: String]
    /// Writes the config's values back under the family's keys (dropout overrides, for export).
    public let writeConfig: @Sendable (_ config: EncoderConfig, _ object: inout [String: Any]) -> Void
    /// How position ids are formed (BERT's `0 ..< T`, RoBERTa's after the padding index).
    public let positionIds: PositionIds
    /// Whether the sequence head drops out the first token's row before the pooler's dense layer
    /// too (RoBERTa's `RobertaClassificationHead`: dropout, dense, tanh, dropout, out_proj).
    public let dropoutBeforePooler: Bool
    /// Whose per-token heads' dropout rule the family follows (see `EncoderModel.dropout`).
    public let perTokenHeadDropout: PerTokenHeadDropout

    public init(
        name: String, modelTypes: [String], sequenceClassificationArchitecture: String, baseArchitecture: String,
        names: EncoderTensorNames, poolerActivation: PoolerActivation, attentionOutputDropout: Bool = true, configKeys: [String: String] = [:],
        readConfig: @escaping @Sendable (ConfigJSON) throws -> EncoderConfig,
        writeConfig: @escaping @Sendable (EncoderConfig, inout [String: Any]) -> Void,
        positionIds: PositionIds = .sequential, dropoutBeforePooler: Bool = false, perTokenHeadDropout: PerTokenHeadDropout = .bert
    ) {
        self.name = name
        self.modelTypes = modelTypes
        self.sequenceClassificationArchitecture = sequenceClassificationArchitecture
        self.baseArchitecture = baseArchitecture
        self.names = names
        self.poolerActivation = poolerActivation
        self.attentionOutputDropout = attentionOutputDropout
        self.configKeys = configKeys
        self.readConfig = readConfig
        self.writeConfig = writeConfig
        self.positionIds = positionIds
        self.dropoutBeforePooler = dropoutBeforePooler
        self.perTokenHeadDropout = perTokenHeadDropout
    }

    public var description: String { name }

    /// Hugging Face's class of a token classifier of this family (`BertForTokenClassification`).
    public var tokenClassificationArchitecture: String { architecture(for: .tokenClassification) }

    /// Hugging Face's class of this family with `head` (`BertForQuestionAnswering`).
    public func architecture(for head: EncoderHead) -> String {
        sequenceClassificationArchitecture.replacingOccurrences(
            of: EncoderHead.sequenceClassification.architectureSuffix, with: head.architectureSuffix)
    }

    /// The family with its head layer named `layerName` (`qa_outputs` for a QA head): the names
    /// every store, checkpoint and PEFT lookup of that model goes through.
    public func withHeadLayer(named layerName: String) -> EncoderFamily {
        guard layerName != names.classifier else { return self }
        var renamed = names
        renamed.classifier = layerName
        return EncoderFamily(
            name: name, modelTypes: modelTypes, sequenceClassificationArchitecture: sequenceClassificationArchitecture,
            baseArchitecture: baseArchitecture, names: renamed, poolerActivation: poolerActivation,
            attentionOutputDropout: attentionOutputDropout, configKeys: configKeys, readConfig: readConfig, writeConfig: writeConfig,
            positionIds: positionIds, dropoutBeforePooler: dropoutBeforePooler, perTokenHeadDropout: perTokenHeadDropout)
    }
}

extension EncoderFamily: Equatable {
    public static func == (a: EncoderFamily, b: EncoderFamily) -> Bool { a.name == b.name }
}

/// How an encoder family numbers positions.
public enum PositionIds: Sendable {
    /// `0 ..< T` in every row (BERT's `position_ids` buffer, right padding).
    case sequential
    /// From `pad_token_id + 1` over the tokens that are not padding, padding at `pad_token_id`
    /// (RoBERTa's `create_position_ids_from_input_ids`): a sequence of T tokens needs
    /// `max_position_embeddings ≥ T + pad_token_id + 1`.
    case afterPadding
}

/// The dropout rule of a family's per-token heads.
public enum PerTokenHeadDropout: Sendable {
    /// BERT's and RoBERTa's: the token head drops out with `classifier_dropout` (else hidden
    /// dropout), the QA head has no dropout.
    case bert
    /// DistilBERT's: the token head uses `dropout`, the QA head `qa_dropout` (read as hidden dropout).
    case distilBERT
}

/// The activation between the pooler's dense layer and the classifier.
public enum PoolerActivation: Sendable {
    /// BERT's pooler: `tanh(dense(h₀))`.
    case tanh
    /// DistilBERT's `pre_classifier`: `relu(dense(h₀))`.
    case relu
}

/// A family's tensor names, as its Hugging Face checkpoints spell them without the base-model
/// prefix (`bert.`): these are fttrain's store names too, so loading, export and PEFT's adapter
/// files map by one prefix.
public struct EncoderTensorNames: Sendable, Equatable {
    /// Prefix of the encoder's tensors inside a `*ForSequenceClassification` checkpoint (`bert.`).
    public var basePrefix: String
    public var wordEmbeddings: String
    public var positionEmbeddings: String
    /// nil when the family has no token types (DistilBERT).
    public var tokenTypeEmbeddings: String?
    /// The embeddings' layer norm module (`embeddings.LayerNorm`): `.weight` and `.bias` follow.
    public var embeddingNorm: String
    /// Prefix of layer `l`'s tensors is `layerPrefix + "\(l)."` (`encoder.layer.`).
    public var layerPrefix: String
    /// Module names inside a layer, in `EncoderLinearModule.layerModules` order: query, key,
    /// value, attention output, intermediate, output.
    public var layerModules: [String]
    /// The layer norm after attention (`attention.output.LayerNorm`), and after the feed-forward block.
    public var attentionNorm: String
    public var outputNorm: String
    /// The dense layer on the first token (`pooler.dense`, DistilBERT's `pre_classifier`).
    public var pooler: String
    /// Whether the pooler belongs to the head: saved without `basePrefix`, present only when the
    /// model has a head (DistilBERT's `pre_classifier`), rather than to the bare encoder (BERT's pooler).
    public var poolerInHead: Bool
    /// The classification layer (`classifier`), always part of the head.
    public var classifier: String

    /// Whether store tensor `name` belongs to the head (saved without `basePrefix`).
    public func isHeadTensor(_ name: String) -> Bool {
        name.hasPrefix(classifier + ".") || (poolerInHead && name.hasPrefix(pooler + "."))
    }

    /// Hugging Face's name of store tensor `name` in a `*ForSequenceClassification` checkpoint.
    public func checkpointName(_ name: String) -> String {
        isHeadTensor(name) ? name : basePrefix + name
    }

    /// The store name of a tensor of a checkpoint (with or without `basePrefix`).
    public func storeName(_ checkpointName: String) -> String {
        checkpointName.hasPrefix(basePrefix) ? String(checkpointName.dropFirst(basePrefix.count)) : checkpointName
    }

    /// Hugging Face's full module name of a store tensor's module (PEFT matches `target_modules`
    /// and `modules_to_save` against it): `bert.encoder.layer.0.attention.self.query` for
    /// `encoder.layer.0.attention.self.query.weight`, `classifier` for `classifier.bias`.
    public func moduleName(ofTensor name: String) -> String {
        checkpointName(name).split(separator: ".").dropLast().joined(separator: ".")
    }

    /// The layer index of a store tensor of an encoder layer, nil for the others.
    public func layer(ofTensor name: String) -> Int? {
        guard name.hasPrefix(layerPrefix) else { return nil }
        let rest = name.dropFirst(layerPrefix.count)
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        return Int(rest[..<dot])
    }

    /// Whether store tensor `name` is an embedding table or the embeddings' layer norm.
    public func isEmbeddingTensor(_ name: String) -> Bool {
        // The module of the tables and their norm: `embeddings.` in every family so far.
        name.hasPrefix(String(wordEmbeddings.prefix { $0 != "." }) + ".")
    }

    /// Prefix of layer `l`'s store names.
    public func layer(_ l: Int) -> String { layerPrefix + "\(l)." }
}

/// A parsed `config.json` with typed reads whose errors name the file and the key.
public struct ConfigJSON {
    /// The file's path, for messages.
    public let path: String
    public let object: [String: Any]

    public init(path: String, object: [String: Any]) {
        self.path = path
        self.object = object
    }

    func fail(_ reason: String) -> ModelError { .badConfig(path, reason) }

    /// A required integer.
    public func int(_ key: String) throws -> Int {
        guard let value = object[key] else { throw fail("missing key \"\(key)\"") }
        return try int(key, value)
    }

    /// An optional integer (nil when absent or JSON null).
    public func int(_ key: String, default value: Int?) throws -> Int? {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        return try int(key, raw)
    }

    private func int(_ key: String, _ raw: Any) throws -> Int {
        guard let number = raw as? NSNumber, !Self.isBoolean(number) else {
            throw fail("wrong type for \"\(key)\" (expected an integer)")
        }
        let double = number.doubleValue
        guard double.rounded() == double, let value = Int(exactly: double) else {
            throw fail("\"\(key)\" must be an integer, got \(number)")
        }
        return value
    }

    /// An optional float (nil when absent or null).
    public func float(_ key: String, default value: Float?) throws -> Float? {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        guard let number = raw as? NSNumber, !Self.isBoolean(number) else {
            throw fail("wrong type for \"\(key)\" (expected a number)")
        }
        return number.floatValue
    }

    /// An optional string.
    public func string(_ key: String, default value: String?) throws -> String? {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        guard let text = raw as? String else { throw fail("wrong type for \"\(key)\" (expected a string)") }
        return text
    }

    /// An optional Boolean.
    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        guard let number = raw as? NSNumber, Self.isBoolean(number) else {
            throw fail("wrong type for \"\(key)\" (expected true or false)")
        }
        return number.boolValue
    }

    /// JSONSerialization gives `true`/`false` as NSNumbers too, of type `c` (JSON has no 8-bit integers).
    static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }
}

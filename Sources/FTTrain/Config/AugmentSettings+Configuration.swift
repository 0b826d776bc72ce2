import Foundation
import Yams

/// A setting whose value is a mapping with its own keys rejected a key or a value: the message
/// names both (`augment: unknown key `copys`; the keys are ...`), and the configuration decoder
/// reports it as is instead of its generic "must be a mapping" sentence.
struct NestedSettingError: Error, Sendable {
    var message: String
}

extension TextAugmentation.Unit: Codable {}

/// `augment:` in a file is a mapping of ``AugmentSettings/keys``; unknown keys and wrongly typed
/// values are errors that name the key.
extension AugmentSettings: Codable {
    public init(from decoder: Decoder) throws {
        let container: KeyedDecodingContainer<ConfigurationCodingKey>
        do {
            container = try decoder.container(keyedBy: ConfigurationCodingKey.self)
        } catch {
            throw NestedSettingError(message: "`augment` must be a mapping of \(Self.keys.joined(separator: ", ")), or null")
        }
        self.init()
        let unknown = container.allKeys.map(\.stringValue).filter { !Self.keys.contains($0) }.sorted()
        if let first = unknown.first {
            let suggestion = KeySuggestion.suggestion(for: first, among: Self.keys).map { "; did you mean `\($0)`?" } ?? ""
            throw NestedSettingError(
                message:
                    "`augment` has unknown key\(unknown.count > 1 ? "s" : "") \(unknown.map { "`\($0)`" }.joined(separator: ", "))\(suggestion) (the keys are \(Self.keys.joined(separator: ", ")))"
            )
        }
        func value<T: Decodable>(_ name: String, _ type: T.Type, _ expected: String) throws -> T? {
            let key = ConfigurationCodingKey(name)
            guard container.contains(key) else { return nil }
            do { return try container.decode(T.self, forKey: key) } catch {
                throw NestedSettingError(message: "`augment.\(name)` must be \(expected)")
            }
        }
        copies = try value("copies", Int.self, "an integer") ?? copies
        synonymReplacement = try value("synonym_replacement", Double.self, "a number") ?? synonymReplacement
        randomInsertion = try value("random_insertion", Double.self, "a number") ?? randomInsertion
        randomSwap = try value("random_swap", Double.self, "a number") ?? randomSwap
        randomDeletion = try value("random_deletion", Double.self, "a number") ?? randomDeletion
        synonyms = try value("synonyms", String?.self, "a file path or null") ?? synonyms
        unit = try value("unit", TextAugmentation.Unit.self, "one of `word`, `char`, `auto`") ?? unit
        words = try value("words", String?.self, "a file path or null") ?? words
        seed = try value("seed", Int?.self, "an integer or null") ?? seed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: ConfigurationCodingKey.self)
        try container.encode(copies, forKey: ConfigurationCodingKey("copies"))
        try container.encode(synonymReplacement, forKey: ConfigurationCodingKey("synonym_replacement"))
        try container.encode(randomInsertion, forKey: ConfigurationCodingKey("random_insertion"))
        try container.encode(randomSwap, forKey: ConfigurationCodingKey("random_swap"))
        try container.encode(randomDeletion, forKey: ConfigurationCodingKey("random_deletion"))
        try container.encode(synonyms, forKey: ConfigurationCodingKey("synonyms"))
        try container.encode(unit, forKey: ConfigurationCodingKey("unit"))
        try container.encode(words, forKey: ConfigurationCodingKey("words"))
        try container.encode(seed, forKey: ConfigurationCodingKey("seed"))
    }

    /// (key, value as text) in ``keys`` order.
    var fields: [(String, String)] {
        [
            ("copies", "\(copies)"), ("synonym_replacement", "\(synonymReplacement)"), ("random_insertion", "\(randomInsertion)"),
            ("random_swap", "\(randomSwap)"), ("random_deletion", "\(randomDeletion)"), ("synonyms", synonyms ?? "null"),
            ("unit", unit.rawValue), ("words", words ?? "null"), ("seed", seed.map(String.init) ?? "null"),
        ]
    }
}

extension AugmentSettings: ConfigurationValue {
    static var expected: String { "a mapping of \(keys.joined(separator: ", ")) (a flag: key=value,...), or null" }
    static var placeholder: String { "<copies=1,random_swap=0.1,synonyms=FILE,...>" }

    /// `copies=2,random_swap=0.2,synonyms=syn.txt` (`:` works in place of `=`); unset keys keep
    /// their defaults. nil for an unknown key or a value that does not parse.
    init?(flagText: String) {
        self.init()
        let inner = flagText.trimmingCharacters(in: CharacterSet(charactersIn: "{} "))
        for item in inner.split(separator: ",") {
            guard let separator = item.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
            let key = item[..<separator].trimmingCharacters(in: .whitespaces)
            let text = item[item.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            let isNull = ["null", "none"].contains(text.lowercased())
            switch key {
            case "copies":
                guard let v = Int(text) else { return nil }
                copies = v
            case "synonym_replacement":
                guard let v = Double(text) else { return nil }
                synonymReplacement = v
            case "random_insertion":
                guard let v = Double(text) else { return nil }
                randomInsertion = v
            case "random_swap":
                guard let v = Double(text) else { return nil }
                randomSwap = v
            case "random_deletion":
                guard let v = Double(text) else { return nil }
                randomDeletion = v
            case "synonyms": synonyms = isNull ? nil : text
            case "unit":
                guard let v = TextAugmentation.Unit(rawValue: text) else { return nil }
                unit = v
            case "words": words = isNull ? nil : text
            case "seed":
                if isNull {
                    seed = nil
                } else {
                    guard let v = Int(text) else { return nil }
                    seed = v
                }
            default: return nil
            }
        }
    }

    var displayText: String { "{" + fields.map { "\($0): \($1)" }.joined(separator: ", ") + "}" }

    var yamlNode: Node {
        let values: [(Node, Node)] = [
            (Node("copies"), copies.yamlNode), (Node("synonym_replacement"), synonymReplacement.yamlNode),
            (Node("random_insertion"), randomInsertion.yamlNode), (Node("random_swap"), randomSwap.yamlNode),
            (Node("random_deletion"), randomDeletion.yamlNode), (Node("synonyms"), synonyms.yamlNode),
            (Node("unit"), .scalar(unit.rawValue.represented())), (Node("words"), words.yamlNode), (Node("seed"), seed.yamlNode),
        ]
        return Node(values, .implicit, .flow)
    }
}

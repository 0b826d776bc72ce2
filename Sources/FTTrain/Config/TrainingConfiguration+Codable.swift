import Foundation

extension CodingUserInfoKey {
    /// The file a configuration is decoded from (a `String`), named in error messages.
    public static let configurationSource = CodingUserInfoKey(rawValue: "fttrain.configurationSource")!
}

/// Decoding rejects unknown keys (with a suggestion) and wrongly typed values (naming the key and the
/// type it expects), collecting every problem before throwing one `ConfigurationError`. Keys that
/// are absent keep their defaults; `null` is accepted only where the setting is optional.
extension TrainingConfiguration: Codable {
    public init(from decoder: Decoder) throws {
        let source = decoder.userInfo[.configurationSource] as? String
        let container: KeyedDecodingContainer<ConfigurationCodingKey>
        do {
            container = try decoder.container(keyedBy: ConfigurationCodingKey.self)
        } catch {
            throw ConfigurationError(
                source: source,
                problems: [
                    ConfigurationProblem(
                        kind: .malformed, key: nil, message: "expected a mapping of setting names to values at the top level")
                ])
        }
        self.init()
        // "Did you mean" costs an edit distance against every known key: only the first few unknown
        // keys get one, so a file of thousands of foreign keys (3000 took 30 s) is still read at once.
        let unknown = container.allKeys.map(\.stringValue).filter { ConfigurationKey.named($0) == nil }.sorted()
        var problems = unknown.enumerated().compactMap { Self.unknownKeyProblem($1, suggest: $0 < Self.suggestedUnknownKeys) }
        for key in ConfigurationKey.all where container.contains(key.codingKey) {
            do {
                try key.decode(&self, container)
            } catch let error as NestedSettingError {
                problems.append(ConfigurationProblem(kind: .wrongType, key: key.name, message: error.message))
            } catch {
                let found = Self.describeRawValue(in: container, forKey: key.codingKey)
                problems.append(
                    ConfigurationProblem(
                        kind: .wrongType, key: key.name, message: "`\(key.name)` must be \(key.expected), found \(found)"))
            }
        }
        if !problems.isEmpty { throw ConfigurationError(source: source, problems: problems) }
    }

    /// Writes every setting, `null` for unset optional ones, in the order of `ConfigurationKey.all`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: ConfigurationCodingKey.self)
        for key in ConfigurationKey.all { try key.encode(self, &container) }
    }

    /// How many unknown keys of one file get a "did you mean" suggestion.
    static let suggestedUnknownKeys = 20

    /// nil for a known key; otherwise the problem, with a suggestion when one is close (and `suggest`).
    static func unknownKeyProblem(_ name: String, suggest: Bool = true) -> ConfigurationProblem? {
        guard ConfigurationKey.named(name) == nil else { return nil }
        let suggestion = suggest ? KeySuggestion.suggestion(for: name, among: ConfigurationKey.all.map(\.name)) : nil
        var message = "unknown key `\(name)`"
        if name == "fp16" {
            message += ": " + KeySuggestion.fp16Refusal
        } else if let suggestion {
            message += "; did you mean `\(suggestion)`?"
        } else if KeySuggestion.unsupportedHuggingFaceKeys.contains(name) {
            message += ": a Hugging Face TrainingArguments setting that fttrain does not implement"
        } else {
            message += ": fttrain has no such setting"
        }
        return ConfigurationProblem(kind: .unknownKey, key: name, message: message, suggestion: suggestion)
    }

    /// A short rendering of whatever the file holds at `key`, for type-error messages.
    static func describeRawValue(
        in container: KeyedDecodingContainer<ConfigurationCodingKey>,
        forKey key: ConfigurationCodingKey
    ) -> String {
        if (try? container.decodeNil(forKey: key)) == true { return "null" }
        if let text = try? container.decode(String.self, forKey: key) { return "`\(text)`" }
        if let bool = try? container.decode(Bool.self, forKey: key) { return "`\(bool)`" }
        if let number = try? container.decode(Double.self, forKey: key) { return "`\(number)`" }
        if (try? container.nestedUnkeyedContainer(forKey: key)) != nil { return "a list" }
        if (try? container.nestedContainer(keyedBy: ConfigurationCodingKey.self, forKey: key)) != nil { return "a mapping" }
        return "a value of another type"
    }
}

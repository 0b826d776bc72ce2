import Foundation
import Yams

extension TrainingConfiguration {
    /// Reads a configuration file: JSON when the extension is `.json` (decoded with `JSONDecoder`, so
    /// numbers are exact), YAML otherwise. An empty YAML file gives the defaults.
    ///
    /// Unknown keys and wrongly typed values are rejected with a `ConfigurationError` whose source is
    /// `path`. Values are not validated here, because flags may still override them: call
    /// `applyOverrides(_:)` and then `validate()`, or use `resolve(configFile:overrides:)`.
    public static func load(path: String) throws -> TrainingConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "file not found"
            throw malformed(path, reason)
        }
        if URL(fileURLWithPath: path).pathExtension.lowercased() == "json" {
            return try decode(json: data, source: path)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw malformed(path, "the file is not UTF-8 text") }
        return try decode(yaml: text, source: path)
    }

    /// Decodes YAML text; `source` names it in messages.
    public static func decode(yaml: String, source: String = "configuration") throws -> TrainingConfiguration {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw malformed(source, "not valid YAML: \(error)")
        }
        guard let node else { return TrainingConfiguration() }
        do {
            return try YAMLDecoder().decode(TrainingConfiguration.self, from: node, userInfo: [.configurationSource: source])
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw malformed(source, "not a valid configuration: \(error)")
        }
    }

    /// Decodes JSON data; `source` names it in messages.
    public static func decode(json: Data, source: String = "configuration") throws -> TrainingConfiguration {
        let decoder = JSONDecoder()
        decoder.userInfo[.configurationSource] = source
        do {
            return try decoder.decode(TrainingConfiguration.self, from: json)
        } catch let error as ConfigurationError {
            throw error
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw malformed(source, "not valid JSON" + (jsonSyntaxDetail(json).map { ": \($0)" } ?? ""))
        } catch {
            throw malformed(source, "not valid JSON: \(error)")
        }
    }

    /// What a `train` command does with its inputs: the file's values (or the defaults when there
    /// is no file), then the flags on top, then `validate(maxPositionEmbeddings:)`.
    public static func resolve(configFile: String?, overrides: [String],
                               maxPositionEmbeddings: Int = 512) throws -> TrainingConfiguration {
        var configuration = try configFile.map(load(path:)) ?? TrainingConfiguration()
        try configuration.applyOverrides(overrides)
        try configuration.validate(maxPositionEmbeddings: maxPositionEmbeddings)
        return configuration
    }

    /// The configuration as YAML, every key present (`null` for unset optional ones), for saving the
    /// effective settings next to a run's checkpoints; `load(path:)` reads it back unchanged.
    public func yamlString() throws -> String {
        let pairs = ConfigurationKey.all.map { (Node($0.name), $0.yaml(self)) }
        return try Yams.serialize(node: Node(pairs), width: -1, allowUnicode: true)
    }

    /// JSONDecoder says only "not valid JSON"; JSONSerialization says where ("around character 24"),
    /// which is turned into a line and column.
    private static func jsonSyntaxDetail(_ json: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])
            return nil
        } catch {
            guard var detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String else { return nil }
            if detail.hasSuffix(".") { detail.removeLast() }
            if let range = detail.range(of: "character "),
               let offset = Int(detail[range.upperBound...].prefix { $0.isNumber }), offset <= json.count {
                let before = json.prefix(offset)
                let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
                let column = offset - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
                detail += " (line \(line), column \(column))"
            }
            return detail
        }
    }

    private static func malformed(_ source: String, _ message: String) -> ConfigurationError {
        ConfigurationError(source: source, problems: [ConfigurationProblem(kind: .malformed, key: nil, message: message)])
    }
}

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
            return try YAMLDecoder().decode(
                TrainingConfiguration.self, from: quotingOverflowingBase60(node),
                userInfo: [.configurationSource: source])
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

    /// `node` with every top-level plain scalar that Yams would read as an out-of-range YAML 1.1
    /// base-60 integer (`999999999999999999:0`) marked as quoted text.
    ///
    /// Yams reads a plain scalar with colons as a base-60 integer when an integer is asked for, and
    /// multiplies its parts without overflow checks: such a value (or any of 11 or more parts, whose
    /// place value 60^11 overflows) trapped inside Yams instead of failing. Quoted, the scalar is
    /// still the same text for a string setting, and an integer setting reports the usual type error
    /// naming the key. In-range base-60 values (`1:30` = 90) are left to Yams, as before. Only the
    /// top level is looked at: every integer setting is a top-level value (lists and maps hold
    /// numbers as `Double`, which does not trap), and walking the whole tree would expand YAML
    /// aliases, exponentially for an alias bomb.
    static func quotingOverflowingBase60(_ node: Node) -> Node {
        guard case .mapping(let mapping) = node else { return node }
        var changed = false
        let pairs = mapping.map { pair -> (Node, Node) in
            guard case .scalar(var scalar) = pair.value, scalar.style == .plain || scalar.style == .any,
                base60Overflows(scalar.string)
            else { return (pair.key, pair.value) }
            scalar.style = .singleQuoted
            changed = true
            return (pair.key, .scalar(scalar))
        }
        return changed ? .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark)) : node
    }

    /// Whether Yams' integer reading of `text` (`FixedWidthInteger.private_construct` and
    /// `String.sexagesimal()` in Yams' Constructor.swift, step for step) would overflow `Int`.
    static func base60Overflows(_ text: String) -> Bool {
        guard text.contains(":") else { return false }
        let withSign = text.replacingOccurrences(of: "_", with: "")
        let negative = withSign.hasPrefix("-")
        let unsigned = withSign.dropFirst(negative || withSign.hasPrefix("+") ? 1 : 0)
        // A leading 0 (after the sign) makes Yams read octal, hex or binary instead, which fails cleanly.
        guard !unsigned.hasPrefix("0") else { return false }
        var digits = Substring(withSign)
        var sign = 1
        if digits.hasPrefix("-") {
            sign = -1
            digits = digits.dropFirst()
        } else if digits.hasPrefix("+") {
            digits = digits.dropFirst()
        }
        var parts: [Int] = []
        for part in digits.components(separatedBy: ":") {
            guard let value = Int(part, radix: 10) else { return false }  // not a number: Yams returns nil
            parts.append(value)
        }
        var base = 1, value = 0
        for part in parts.reversed() {
            let (product, o1) = part.multipliedReportingOverflow(by: base)
            let (sum, o2) = value.addingReportingOverflow(product)
            let (nextBase, o3) = base.multipliedReportingOverflow(by: 60)
            if o1 || o2 || o3 { return true }
            (value, base) = (sum, nextBase)
        }
        return sign.multipliedReportingOverflow(by: value).overflow
    }

    /// What a `train` command does with its inputs: the file's values (or the defaults when there
    /// is no file), then the flags on top, then `validate(maxPositionEmbeddings:)`.
    public static func resolve(
        configFile: String?, overrides: [String],
        maxPositionEmbeddings: Int = 512
    ) throws -> TrainingConfiguration {
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
                let offset = Int(detail[range.upperBound...].prefix { $0.isNumber }), offset <= json.count
            {
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

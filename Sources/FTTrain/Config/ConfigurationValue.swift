import Foundation
import Yams

/// A type a configuration key can hold: decoded from a file with its `Codable` conformance, parsed
/// from the text of a command-line flag, and shown in `describe()` and `--help`.
protocol ConfigurationValue: Codable, Sendable, Equatable {
    /// What the key expects, for messages: "a number", "one of `no`, `steps`, `epoch`".
    static var expected: String { get }
    /// The value placeholder in `--help`: `<number>`.
    static var placeholder: String { get }
    /// True when a bare flag (`--group-by-length`) means `true`.
    static var isBoolean: Bool { get }
    /// Parses a flag's value; nil when the text is not a value of this type.
    init?(flagText: String)
    /// The value as `describe()` and `--help` show it.
    var displayText: String { get }
    /// The value as `yamlString()` writes it: plain where YAML 1.1 readers (PyYAML too) read it back
    /// as the same type, quoted otherwise.
    var yamlNode: Node { get }
}

extension ConfigurationValue {
    static var isBoolean: Bool { false }
}

extension Double: ConfigurationValue {
    static var expected: String { "a number" }
    static var placeholder: String { "<number>" }
    init?(flagText: String) { self.init(flagText.trimmingCharacters(in: .whitespaces)) }
    var displayText: String { "\(self)" }
    /// Swift's shortest round-tripping form, with `.0` added before a bare exponent (`5e-05` →
    /// `5.0e-05`) because YAML 1.1 floats need the dot.
    var yamlNode: Node {
        if isNaN { return Node(".nan") }
        if isInfinite { return Node(self < 0 ? "-.inf" : ".inf") }
        var text = "\(self)"
        if let e = text.firstIndex(of: "e"), !text[..<e].contains(".") { text.insert(contentsOf: ".0", at: e) }
        return Node(text)
    }
}

extension Int: ConfigurationValue {
    static var expected: String { "an integer" }
    static var placeholder: String { "<integer>" }
    init?(flagText: String) { self.init(flagText.trimmingCharacters(in: .whitespaces)) }
    var displayText: String { "\(self)" }
    var yamlNode: Node { Node(String(self)) }
}

extension Bool: ConfigurationValue {
    static var expected: String { "true or false" }
    static var placeholder: String { "[true|false]" }
    static var isBoolean: Bool { true }
    init?(flagText: String) {
        switch flagText.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes": self = true
        case "false", "no": self = false
        default: return nil
        }
    }
    var displayText: String { self ? "true" : "false" }
    var yamlNode: Node { Node(displayText) }
}

extension String: ConfigurationValue {
    static var expected: String { "a string" }
    static var placeholder: String { "<text>" }
    init?(flagText: String) { self = flagText }
    var displayText: String { self }
    var yamlNode: Node { .scalar(represented()) }
}

extension Array: ConfigurationValue where Element == Double {
    static var expected: String { "a list of numbers" }
    static var placeholder: String { "<n,n,...>" }
    /// `0.8,0.1,0.1`, optionally in brackets and with spaces.
    init?(flagText: String) {
        let inner = flagText.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        guard !inner.isEmpty else { return nil }
        var values: [Double] = []
        for item in inner.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Double(item.trimmingCharacters(in: .whitespaces)) else { return nil }
            values.append(value)
        }
        self = values
    }
    var displayText: String { "[" + map { "\($0)" }.joined(separator: ", ") + "]" }
    var yamlNode: Node { Node(map(\.yamlNode), .implicit, .flow) }
}

extension Optional: ConfigurationValue where Wrapped: ConfigurationValue {
    static var expected: String {
        Wrapped.expected.contains(",") ? "\(Wrapped.expected), or null" : "\(Wrapped.expected) or null"
    }
    static var placeholder: String { Wrapped.placeholder }
    static var isBoolean: Bool { Wrapped.isBoolean }
    /// `null` or `none` (any case) clears the value.
    init?(flagText: String) {
        if ["null", "none"].contains(flagText.trimmingCharacters(in: .whitespaces).lowercased()) {
            self = .none
        } else if let value = Wrapped(flagText: flagText) {
            self = .some(value)
        } else {
            return nil
        }
    }
    var displayText: String { map(\.displayText) ?? "null" }
    var yamlNode: Node { map(\.yamlNode) ?? Node("null") }
}

/// A string from a closed set, named in messages and help.
protocol ConfigurationChoice: ConfigurationValue, RawRepresentable<String>, CaseIterable {}

extension ConfigurationChoice {
    static var expected: String { "one of " + allCases.map { "`\($0.rawValue)`" }.joined(separator: ", ") }
    static var placeholder: String { "<" + allCases.map(\.rawValue).joined(separator: "|") + ">" }
    init?(flagText: String) { self.init(rawValue: flagText.trimmingCharacters(in: .whitespaces)) }
    var displayText: String { rawValue }
    var yamlNode: Node { .scalar(rawValue.represented()) }
}

extension SchedulerType: ConfigurationChoice {}
extension SaveDType: ConfigurationChoice {}
extension DDPAllReduceAlgorithm: ConfigurationChoice {}
extension IntervalStrategy: ConfigurationChoice {}
extension SaveStrategy: ConfigurationChoice {}
extension ReportTo: ConfigurationChoice {}
extension TaskType: ConfigurationChoice {}
extension TagScheme: ConfigurationChoice, Codable {}
/// `DataFormat` (csv, tsv, jsonl) is the data reader's type (Data/DataFormat.swift).
extension DataFormat: ConfigurationChoice {}

extension ClassWeights: ConfigurationValue {
    static var expected: String { "`balanced`, a list of numbers, or a mapping from label to number" }
    static var placeholder: String { "<balanced|w,w,...|label=w,...>" }
    /// `balanced`, `1,2.5,1`, or `fresh=1,rotten=1.4` (`:` works in place of `=`).
    init?(flagText: String) {
        let text = flagText.trimmingCharacters(in: .whitespaces)
        if text == "balanced" {
            self = .balanced
        } else if text.contains("=") || text.contains(":") {
            let inner = text.trimmingCharacters(in: CharacterSet(charactersIn: "{} "))
            var map: [String: Double] = [:]
            for item in inner.split(separator: ",") {
                guard let separator = item.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
                let label = item[..<separator].trimmingCharacters(in: .whitespaces)
                guard !label.isEmpty, map[label] == nil,
                    let weight = Double(item[item.index(after: separator)...].trimmingCharacters(in: .whitespaces))
                else { return nil }
                map[label] = weight
            }
            guard !map.isEmpty else { return nil }
            self = .byLabel(map)
        } else if let values = [Double](flagText: text) {
            self = .list(values)
        } else {
            return nil
        }
    }
    var displayText: String {
        switch self {
        case .balanced: return "balanced"
        case .list(let values): return values.displayText
        case .byLabel(let map):
            return "{" + map.keys.sorted().map { "\($0): \(map[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
    var yamlNode: Node {
        switch self {
        case .balanced: return Node("balanced")
        case .list(let values): return values.yamlNode
        case .byLabel(let map):
            return Node(map.keys.sorted().map { (Node.scalar($0.represented()), map[$0]!.yamlNode) }, .implicit, .flow)
        }
    }
}

import Foundation
import Yams

/// Multi-label thresholds in a configuration (`thresholds:`): one number for every label, or a
/// mapping from label to number (labels not named keep `threshold`). A label is predicted when
/// its sigmoid probability is at least its threshold; every value must lie in (0, 1).
///
/// In a file: `thresholds: 0.4` or `thresholds: {joy: 0.3, anger: 0.6}`; as a flag: `0.4` or
/// `joy=0.3,anger=0.6` (`:` works in place of `=`).
public enum LabelThresholdSetting: Sendable, Equatable {
    case uniform(Double)
    case byLabel([String: Double])

    /// Every number of the setting, for range checks.
    public var values: [Double] {
        switch self {
        case .uniform(let value): return [value]
        case .byLabel(let map): return Array(map.values)
        }
    }

    /// Parses `0.4` or `label=0.3,label=0.6` (optionally in braces); nil when it is neither, a
    /// label repeats or a name is empty.
    public init?(text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let value = Double(trimmed) {
            self = .uniform(value)
            return
        }
        let inner = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "{} "))
        var map: [String: Double] = [:]
        for item in inner.split(separator: ",") {
            guard let separator = item.lastIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
            let label = item[..<separator].trimmingCharacters(in: CharacterSet(charactersIn: " \"'"))
            guard !label.isEmpty, map[label] == nil,
                let value = Double(item[item.index(after: separator)...].trimmingCharacters(in: .whitespaces))
            else { return nil }
            map[label] = value
        }
        guard !map.isEmpty else { return nil }
        self = .byLabel(map)
    }
}

extension LabelThresholdSetting: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Double.self) {
            self = .uniform(value)
        } else if let map = try? container.decode([String: Double].self) {
            self = .byLabel(map)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "thresholds must be a number or a mapping from label to number")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .uniform(let value): try container.encode(value)
        case .byLabel(let map): try container.encode(map)
        }
    }
}

extension LabelThresholdSetting: ConfigurationValue {
    static var expected: String { "a number in (0, 1), or a mapping from label to number" }
    static var placeholder: String { "<t|label=t,...>" }
    init?(flagText: String) { self.init(text: flagText) }
    var displayText: String {
        switch self {
        case .uniform(let value): return value.displayText
        case .byLabel(let map): return "{" + map.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
    var yamlNode: Node {
        switch self {
        case .uniform(let value): return value.yamlNode
        case .byLabel(let map):
            return Node(map.sorted { $0.key < $1.key }.map { (Node.scalar($0.key.represented()), $0.value.yamlNode) }, .implicit, .flow)
        }
    }
}

/// Column names in a configuration (`label_columns: [valence, arousal]`; flag `valence,arousal`).
public struct ColumnNameList: Sendable, Equatable, Codable, ExpressibleByArrayLiteral {
    public var names: [String]

    public init(_ names: [String]) { self.names = names }
    public init(arrayLiteral elements: String...) { names = elements }

    public init(from decoder: Decoder) throws {
        names = try decoder.singleValueContainer().decode([String].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(names)
    }
}

extension ColumnNameList: ConfigurationValue {
    static var expected: String { "a list of column names" }
    static var placeholder: String { "<name,name,...>" }
    /// `valence,arousal`, optionally in brackets.
    init?(flagText: String) {
        let inner = flagText.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        let names = inner.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")) }
        guard !inner.isEmpty, !names.contains(where: \.isEmpty) else { return nil }
        self.names = names
    }
    var displayText: String { "[" + names.joined(separator: ", ") + "]" }
    var yamlNode: Node { Node(names.map { Node.scalar($0.represented()) }, .implicit, .flow) }
}

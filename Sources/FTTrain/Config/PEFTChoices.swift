import FTModel
import Foundation
import Yams

/// How much of the model a run trains (`peft`).
public enum PEFTMethod: String, CaseIterable, Codable, Sendable {
    /// Every parameter not frozen by `freeze_embeddings`/`freeze_layers`.
    case none
    /// LoRA branches on `lora_target_modules`, the head and `lora_bias` biases; the rest frozen.
    case lora
    /// Bottleneck adapters after every feed-forward block (`adapter_reduction_factor`) and the head; the rest frozen.
    case adapter
}

extension PEFTMethod: ConfigurationChoice {}
/// PEFT's `bias` (none, all, lora_only).
extension LoRABias: ConfigurationChoice {}

/// A list of module names (`lora_target_modules`, `modules_to_save`): a YAML/JSON list of strings,
/// or on the command line `query,value`.
public struct ModuleNameList: Sendable, Equatable, Codable, ExpressibleByArrayLiteral {
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

extension ModuleNameList: ConfigurationValue {
    static var expected: String { "a list of module names" }
    static var placeholder: String { "<name,name,...>" }
    /// `query,value`, optionally in brackets.
    init?(flagText: String) {
        let inner = flagText.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        let names = inner.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")) }
        guard !names.contains(where: \.isEmpty) || inner.isEmpty else { return nil }
        self.names = inner.isEmpty ? [] : names
    }
    var displayText: String { "[" + names.joined(separator: ", ") + "]" }
    var yamlNode: Node { Node(names.map { Node.scalar($0.represented()) }, .implicit, .flow) }
}

/// Which encoder layers `freeze_layers` names: `0-3`, `0,2`, `0-1,4`.
public enum LayerSelection {
    /// Indices above this are rejected: no encoder has 10,000 layers, and the set of a range is built
    /// element by element, so `0-1000000000000` ran for hours and exhausted memory (found by reading
    /// the parsers for the fuzz tests) instead of failing validation.
    public static let maximumIndex = 9_999

    /// The layer indices of `text`, or nil when it is not a list of indices and ranges (each at most
    /// ``maximumIndex``).
    public static func parse(_ text: String) -> Set<Int>? {
        var layers = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let part = item.trimmingCharacters(in: .whitespaces)
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0].trimmingCharacters(in: .whitespaces)),
                let high = Int(bounds[bounds.count - 1].trimmingCharacters(in: .whitespaces)), 0 <= low, low <= high,
                high <= maximumIndex
            else { return nil }
            layers.formUnion(low...high)
        }
        return layers
    }
}

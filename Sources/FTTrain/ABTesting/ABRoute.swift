import FTCore
import Foundation

/// One A/B route of `fttrain serve`: a name that requests use in place of a model name, the split
/// of its traffic between served models (the arms), and the header whose value makes a client
/// sticky. In serve.yaml:
///
/// ```yaml
/// routes:
///   sentiment:
///     ab: {full: 0.9, lora: 0.1}     # arm (a served model or adapter name): weight
///     sticky_header: x-client-id     # optional; without it (or the header) each request is drawn at random
/// ```
public struct ABRoute: Equatable, Sendable {
    public let name: String
    /// The split; its salt is `"<name>/"`, so two routes split the same clients independently.
    public let split: ABSplit
    /// The sticky header's name in lower case (HTTP header names are case-insensitive), or `nil`.
    public let stickyHeader: String?

    public init(name: String, weights: [String: Double], stickyHeader: String?) throws(ABTestingError) {
        guard !name.isEmpty else { throw .badRoute("A/B route: empty route name") }
        do {
            split = try ABSplit(weights: weights, salt: name + "/")
        } catch {
            throw .badRoute("A/B route \(name): \(error.description.replacingOccurrences(of: "A/B split: ", with: ""))")
        }
        self.name = name
        self.stickyHeader = stickyHeader?.lowercased()
    }

    /// The route named `name` from its definition as a YAML or JSON value: a mapping with `ab`
    /// (arm → positive number) and an optional `sticky_header` (a non-empty string). `source`
    /// (the configuration file) prefixes every message.
    public static func parse(name: String, definition: Any, source: String) throws(ABTestingError) -> ABRoute {
        let at = "\(source): routes.\(name)"
        guard let mapping = definition as? [String: Any] else { throw .badRoute("\(at) must be a mapping with ab: and sticky_header:") }
        for key in mapping.keys.sorted() where key != "ab" && key != "sticky_header" {
            throw .badRoute("\(at): unknown key \(key) (expected ab, sticky_header)")
        }
        guard let ab = mapping["ab"] as? [String: Any] else {
            throw .badRoute("\(at).ab must map arm names (served models) to weights, e.g. ab: {a: 0.9, b: 0.1}")
        }
        var weights: [String: Double] = [:]
        for (arm, value) in ab {
            guard let weight = number(value) else { throw .badRoute("\(at).ab.\(arm) must be a number, found \(value)") }
            weights[arm] = weight
        }
        var header: String?
        if let value = mapping["sticky_header"], !(value is NSNull) {
            guard let text = value as? String, !text.isEmpty,
                text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            else { throw .badRoute("\(at).sticky_header must be a header name such as x-client-id, found \(value)") }
            header = text
        }
        do {
            return try ABRoute(name: name, weights: weights, stickyHeader: header)
        } catch {
            throw .badRoute("\(source): \(error.description)")
        }
    }

    /// The route from its definition as JSON text (how `ServeConfiguration` keeps it), read with
    /// `StrictJSON` (Foundation's parser hands back `NSNumber`s that cast to `Bool` when they are 1).
    public static func parse(name: String, json: String, source: String) throws(ABTestingError) -> ABRoute {
        let bytes = Array(json.utf8)
        let value: StrictJSON.Value
        do {
            value = try bytes.withUnsafeBufferPointer { (buffer) throws(StrictJSON.SyntaxError) in try StrictJSON.parse(buffer) }
        } catch {
            throw .badRoute("\(source): routes.\(name) is not valid JSON: \(error.message)")
        }
        return try parse(name: name, definition: native(value), source: source)
    }

    /// A JSON value as the Swift values YAML gives (`[String: Any]`, `[Any]`, `String`, `Double`,
    /// `Bool`, `NSNull`).
    private static func native(_ value: StrictJSON.Value) -> Any {
        switch value {
        case .string(let text): return text
        case .number(let text): return Double(text) ?? Double.nan
        case .bool(let flag): return flag
        case .null: return NSNull()
        case .array(let items): return items.map(native)
        case .object(let members):
            var object: [String: Any] = [:]
            for member in members { object[member.key] = native(member.value) }
            return object
        }
    }

    /// A YAML or JSON number as a Double; booleans are not numbers here.
    private static func number(_ value: Any) -> Double? {
        if type(of: value) == Bool.self { return nil }
        if let int = value as? Int { return Double(int) }
        if let double = value as? Double { return double }
        return nil
    }
}

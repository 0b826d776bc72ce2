/// The kinds of personal identifier the anonymiser finds, in the order it prefers them when two
/// detections overlap (a URL holding an e-mail address is one URL; an ID number is not also a card).
public enum IdentifierKind: String, Sendable, CaseIterable, Codable, Comparable {
    case url = "URL"
    case email = "EMAIL"
    case ip = "IP"
    case id = "ID"
    case card = "CARD"
    case phone = "PHONE"
    case name = "NAME"

    /// The placeholder that replaces an identifier of this kind: `[ID]`, `[PHONE]`, ...
    public var placeholder: String { "[\(rawValue)]" }

    var priority: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: IdentifierKind, b: IdentifierKind) -> Bool { a.priority < b.priority }
}

/// One identifier found in a text: its kind and its place as Unicode-scalar offsets `start..<end`.
public struct IdentifierSpan: Sendable, Equatable {
    public var kind: IdentifierKind
    public var start: Int
    public var end: Int

    public init(kind: IdentifierKind, start: Int, end: Int) {
        self.kind = kind
        self.start = start
        self.end = end
    }
}

/// Character classes over Unicode scalars shared by the detectors.
enum Scalars {
    static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }
    static func isASCIILetter(_ s: Unicode.Scalar) -> Bool {
        (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
    }
    static func isASCIIAlnum(_ s: Unicode.Scalar) -> Bool { isDigit(s) || isASCIILetter(s) }
    static func isHex(_ s: Unicode.Scalar) -> Bool {
        isDigit(s) || (s.value >= 0x41 && s.value <= 0x46) || (s.value >= 0x61 && s.value <= 0x66)
    }
    /// A CJK unified ideograph (basic block and extension A).
    static func isHan(_ s: Unicode.Scalar) -> Bool {
        (s.value >= 0x4E00 && s.value <= 0x9FFF) || (s.value >= 0x3400 && s.value <= 0x4DBF)
    }
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool { isASCIIAlnum(s) || s == "_" }

    /// Whether `text[i]` exists and is an ASCII letter, digit or underscore (a token goes on).
    static func wordAt(_ text: [Unicode.Scalar], _ i: Int) -> Bool {
        i >= 0 && i < text.count && isWordCharacter(text[i])
    }
}

import Crypto
import Foundation

/// Replaces the personal identifiers in a text with typed placeholders (`[PHONE]`) or, with a salt,
/// with a keyed hash of the identifier (`[PHONE:3f2a9c1d]`) so the same person stays linkable across
/// rows without being readable.
///
/// Every detector runs over the whole text; where two detections overlap the kind earlier in
/// ``IdentifierKind/allCases`` wins (then the longer one), so a URL containing an address is one
/// `[URL]` and an 18-digit ID number is never also a card. Text outside the identifiers is kept
/// scalar for scalar.
public struct Anonymizer: Sendable {
    public let names: PersonNames
    /// The HMAC-SHA256 key (the salt's UTF-8 bytes), or nil for plain placeholders.
    private let hashKey: Data?

    public init(names: PersonNames = PersonNames(names: [], chineseRule: false), hashSalt: String? = nil) {
        self.names = names
        hashKey = hashSalt.map { Data($0.utf8) }
    }

    /// The identifiers in `text`, without overlaps, in order; offsets are Unicode-scalar offsets.
    public func identifiers(in text: String) -> [IdentifierSpan] {
        identifiers(in: Array(text.unicodeScalars))
    }

    func identifiers(in scalars: [Unicode.Scalar]) -> [IdentifierSpan] {
        var found: [IdentifierSpan] = []
        NetworkIdentifiers.findURLs(in: scalars, into: &found)
        NetworkIdentifiers.findEmails(in: scalars, into: &found)
        NetworkIdentifiers.findIPv4(in: scalars, into: &found)
        NetworkIdentifiers.findIPv6(in: scalars, into: &found)
        NumberIdentifiers.find(in: scalars, into: &found)
        names.find(in: scalars, into: &found)
        found.sort { a, b in a.kind != b.kind ? a.kind < b.kind : (a.end - a.start) > (b.end - b.start) }
        var taken = [Bool](repeating: false, count: scalars.count)
        var kept: [IdentifierSpan] = []
        for span in found where !taken[span.start..<span.end].contains(true) {
            for k in span.start..<span.end { taken[k] = true }
            kept.append(span)
        }
        return kept.sorted { $0.start < $1.start }
    }

    /// `text` with every identifier replaced, and how many of each kind were replaced.
    public func anonymize(_ text: String) -> (text: String, counts: [IdentifierKind: Int]) {
        let scalars = Array(text.unicodeScalars)
        let spans = identifiers(in: scalars)
        guard !spans.isEmpty else { return (text, [:]) }
        var out = String.UnicodeScalarView()
        var counts: [IdentifierKind: Int] = [:]
        var cursor = 0
        for span in spans {
            out.append(contentsOf: scalars[cursor..<span.start])
            let value = String(String.UnicodeScalarView(scalars[span.start..<span.end]))
            out.append(contentsOf: replacement(for: value, kind: span.kind).unicodeScalars)
            counts[span.kind, default: 0] += 1
            cursor = span.end
        }
        out.append(contentsOf: scalars[cursor...])
        return (String(out), counts)
    }

    /// `[KIND]`, or `[KIND:xxxxxxxx]` (the first 4 bytes of HMAC-SHA256(salt, KIND:normalized value)).
    public func replacement(for value: String, kind: IdentifierKind) -> String {
        guard let hashKey else { return kind.placeholder }
        let message = kind.rawValue + ":" + Self.normalized(value, kind: kind)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: hashKey))
        let hex = mac.prefix(4).map { String(format: "%02x", $0) }.joined()
        return "[\(kind.rawValue):\(hex)]"
    }

    /// The form that is hashed, so differently written copies of one identifier link: numbers as
    /// their digits (a phone without its +86 / 0086), addresses lower-cased, names as written.
    static func normalized(_ value: String, kind: IdentifierKind) -> String {
        switch kind {
        case .id, .card:
            return String(value.uppercased().unicodeScalars.filter { Scalars.isDigit($0) || $0 == "X" })
        case .phone:
            var digits = String(value.unicodeScalars.filter(Scalars.isDigit))
            if digits.hasPrefix("0086") {
                digits.removeFirst(4)
            } else if value.hasPrefix("+86") {
                digits.removeFirst(2)
            }
            return digits
        case .email, .url, .ip:
            return value.lowercased()
        case .name:
            return value
        }
    }
}

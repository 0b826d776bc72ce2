/// How text (and the text pair) is cleaned before de-duplication and tokenization.
///
/// The steps run in this order, each only when enabled:
/// 1. `stripHTML` — remove tags and decode entities (see `HTMLText`).
/// 2. `dropSymbols` — remove emoji and decorative symbols (see `isKeptBySymbolFilter`).
/// 3. `collapseWhitespace` — turn every run of Unicode whitespace (spaces, tabs, newlines, NBSP,
///    ideographic space U+3000, ...) into one ASCII space and trim both ends.
///
/// Defaults: only `collapseWhitespace` is on. It never changes what a tokenizer sees as words, yet it
/// makes `"a  b"` and `"a b\n"` the same text for de-duplication. HTML stripping is off because text
/// that is not HTML can contain `<tag>`-like strings and `&amp;` on purpose, and symbol dropping is
/// off because emoji carry sentiment (`"😡"`) that a model can learn from.
public struct TextCleaning: Sendable, Equatable, Codable {
    /// Remove HTML tags and decode the common entities.
    public var stripHTML: Bool
    /// Collapse runs of Unicode whitespace to one space and trim.
    public var collapseWhitespace: Bool
    /// Remove emoji and other non-text symbols.
    public var dropSymbols: Bool

    public init(stripHTML: Bool = false, collapseWhitespace: Bool = true, dropSymbols: Bool = false) {
        self.stripHTML = stripHTML
        self.collapseWhitespace = collapseWhitespace
        self.dropSymbols = dropSymbols
    }

    /// Only whitespace collapsing.
    public static let `default` = TextCleaning()
    /// Leaves text exactly as read.
    public static let none = TextCleaning(stripHTML: false, collapseWhitespace: false, dropSymbols: false)
    /// Everything on: what the seed guide's `clean_text` meant, without its `[^\w\s]` rule (which also
    /// deletes all punctuation, including the Chinese `,。!?` that carry meaning).
    public static let all = TextCleaning(stripHTML: true, collapseWhitespace: true, dropSymbols: true)

    /// Applies the enabled steps to `text`.
    public func apply(to text: String) -> String {
        var result = text
        if stripHTML { result = HTMLText.strip(result) }
        if dropSymbols { result = TextCleaning.droppingSymbols(result) }
        if collapseWhitespace { result = TextCleaning.collapsingWhitespace(result) }
        return result
    }

    /// Whether a scalar survives `dropSymbols`. Kept:
    /// - whitespace, and every printable ASCII character (so `$ + < = > ^ \` | ~` and all ASCII
    ///   punctuation stay);
    /// - letters (L*), numbers (N*), punctuation (P*, including CJK and full-width punctuation),
    ///   currency symbols (Sc, e.g. `€ ¥`);
    /// - combining marks (M*), except the emoji presentation selectors U+FE00–FE0F, U+E0100–E01EF and
    ///   the keycap mark U+20E3 (so `1️⃣` becomes `1`).
    ///
    /// Dropped: other symbols (So: emoji, dingbats, `© ® ™ ° ★ ✓`, box drawing, most arrows),
    /// non-ASCII math symbols (Sm: `× ÷ ± → ≤`), non-ASCII modifier symbols (Sk: emoji skin tones,
    /// `´ ¨`), format characters (Cf: zero-width joiner, bidi marks, tag characters), controls other
    /// than whitespace, private-use, surrogate and unassigned code points.
    public static func isKeptBySymbolFilter(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v >= 0x20 && v < 0x7F { return true }
        if scalar.properties.isWhitespace { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .currencySymbol:
            return true
        case .nonspacingMark, .spacingMark, .enclosingMark:
            let isEmojiSelector = (0xFE00...0xFE0F).contains(v) || (0xE0100...0xE01EF).contains(v) || v == 0x20E3
            return !isEmojiSelector
        default:
            return false
        }
    }

    static func droppingSymbols(_ text: String) -> String {
        // Pure ASCII text has nothing to drop except controls; skip the scalar walk for it.
        if text.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            return text
        }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where isKeptBySymbolFilter(scalar) {
            out.append(scalar)
        }
        return String(out)
    }

    static func collapsingWhitespace(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        var changed = false
        for scalar in text.unicodeScalars {
            let isSpace =
                scalar.isASCII
                ? (scalar.value == 0x20 || (0x09...0x0D).contains(scalar.value))
                : scalar.properties.isWhitespace
            if isSpace {
                // A lone ASCII space between two words is the only whitespace kept as it is.
                if scalar.value != 0x20 || pendingSpace || bytes.isEmpty { changed = true }
                pendingSpace = true
                continue
            }
            if pendingSpace && !bytes.isEmpty { bytes.append(0x20) }
            pendingSpace = false
            UTF8.encode(scalar) { bytes.append($0) }
        }
        if pendingSpace { changed = true }  // trailing whitespace was trimmed
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }
}

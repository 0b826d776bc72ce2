/// Turns HTML-ish text into plain text: tags removed, common entities decoded.
///
/// Tags are recognised only where HTML would see one — `<` followed by a letter, `/`, `!` or `?`, up to
/// the next `>` outside a quoted attribute value — so `a < b` and `<3` stay as they are. Tags that
/// break lines in a browser (`br`, `p`, `div`, `li`, `tr`, `td`, `h1`–`h6`, ...) become a space so
/// `one<br>two` does not turn into `onetwo`; other tags (`b`, `i`, `span`, `a`, ...) vanish without
/// trace so `<b>bold</b>ly` stays one word. Comments and the contents of `<script>` and `<style>`
/// are removed. Entities are decoded after the tags are gone (so `&lt;b&gt;` becomes the text
/// `<b>`, not a tag) and only once (so `&amp;lt;` becomes `&lt;`): `&amp; &lt; &gt; &quot; &#39;
/// &apos; &nbsp;`, a few typographic ones (`&hellip; &mdash; &ndash; &lsquo; &rsquo; &ldquo;
/// &rdquo;`) and numeric `&#NNN;` / `&#xHH;`. Other named entities, and numeric ones that are not a
/// valid scalar, are left as written.
public enum HTMLText {
    /// `text` with tags removed and entities decoded.
    public static func strip(_ text: String) -> String {
        let bytes = Array(text.utf8)
        // Nothing to do without `<` or `&`; most rows of most data sets take this exit.
        guard bytes.contains(UInt8(ascii: "<")) || bytes.contains(UInt8(ascii: "&")) else { return text }
        return String(decoding: decodeEntities(removeTags(bytes)), as: UTF8.self)
    }

    private static let lineBreakingTags: Set<String> = [
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    ]

    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    /// Where the last possible tag and comment ends are: a `<` after the last `>` (or a `<!--` after
    /// the last `-->`) cannot open a tag, and looking for its end anyway scanned to the end of the text
    /// from every such `<`, quadratic in the text (100,000 unclosed `<a` took minutes).
    private struct Closings {
        let lastGreater: Int
        let lastCommentEnd: Int

        init(_ b: [UInt8]) {
            lastGreater = b.lastIndex(of: UInt8(ascii: ">")) ?? -1
            var j = b.count - 1
            while j >= 2 && !(b[j] == UInt8(ascii: ">") && b[j - 1] == UInt8(ascii: "-") && b[j - 2] == UInt8(ascii: "-")) { j -= 1 }
            lastCommentEnd = j >= 2 ? j : -1
        }
    }

    private static func removeTags(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        let n = b.count
        let closings = Closings(b)
        while i < n {
            guard b[i] == UInt8(ascii: "<"), i + 1 < n, let end = tagEnd(b, from: i, closings) else {
                out.append(b[i])
                i += 1
                continue
            }
            let name = tagName(b, from: i)
            if name == "script" || name == "style", !(i + 1 < n && b[i + 1] == UInt8(ascii: "/")) {
                // Skip the element's contents up to its closing tag (or the end of the text).
                i = closingTagEnd(b, name: name, from: end + 1, closings) ?? n
                continue
            }
            if lineBreakingTags.contains(name) { out.append(0x20) }
            i = end + 1
        }
        return out
    }

    /// Index of the `>` that closes a tag starting at `start`, or nil when `start` is no tag.
    private static func tagEnd(_ b: [UInt8], from start: Int, _ closings: Closings) -> Int? {
        let n = b.count
        guard start < closings.lastGreater else { return nil }
        let next = b[start + 1]
        if next == UInt8(ascii: "!"), start + 3 < n, b[start + 2] == UInt8(ascii: "-"), b[start + 3] == UInt8(ascii: "-") {
            guard start + 4 <= closings.lastCommentEnd - 2 else { return nil }
            var j = start + 4
            while j + 2 < n {
                if b[j] == UInt8(ascii: "-"), b[j + 1] == UInt8(ascii: "-"), b[j + 2] == UInt8(ascii: ">") { return j + 2 }
                j += 1
            }
            return nil
        }
        let opensTag =
            isLetter(next) || next == UInt8(ascii: "!") || next == UInt8(ascii: "?")
            || (next == UInt8(ascii: "/") && start + 2 < n && isLetter(b[start + 2]))
        guard opensTag else { return nil }
        var j = start + 2
        var quote: UInt8 = 0
        while j < n {
            let c = b[j]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: ">") {
                return j
            } else if (c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")) && b[j - 1] == UInt8(ascii: "=") {
                // Only a quote right after `=` opens an attribute value; an apostrophe in prose does not.
                quote = c
            }
            j += 1
        }
        return nil
    }

    /// Lower-cased tag name after `<` or `</`.
    private static func tagName(_ b: [UInt8], from start: Int) -> String {
        var j = start + 1
        if j < b.count, b[j] == UInt8(ascii: "/") { j += 1 }
        var name: [UInt8] = []
        while j < b.count, isLetter(b[j]) || (b[j] >= 0x30 && b[j] <= 0x39) {
            name.append(b[j] | (isLetter(b[j]) ? 0x20 : 0))
            j += 1
        }
        return String(decoding: name, as: UTF8.self)
    }

    private static func closingTagEnd(_ b: [UInt8], name: String, from start: Int, _ closings: Closings) -> Int? {
        var j = start
        while j + 1 < b.count && j < closings.lastGreater {
            if b[j] == UInt8(ascii: "<"), b[j + 1] == UInt8(ascii: "/"), tagName(b, from: j) == name, let end = tagEnd(b, from: j, closings) {
                return end + 1
            }
            j += 1
        }
        return nil
    }

    private static let namedEntities: [String: Unicode.Scalar] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}",
        "hellip": "\u{2026}", "mdash": "\u{2014}", "ndash": "\u{2013}",
        "lsquo": "\u{2018}", "rsquo": "\u{2019}", "ldquo": "\u{201C}", "rdquo": "\u{201D}",
    ]

    private static func decodeEntities(_ b: [UInt8]) -> [UInt8] {
        guard b.contains(UInt8(ascii: "&")) else { return b }
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "&"), let found = entity(b, at: i) {
                UTF8.encode(found.scalar) { out.append($0) }
                i += found.length
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// The scalar of an entity starting at `start` and the entity's length in bytes (with `&` and `;`).
    private static func entity(_ b: [UInt8], at start: Int) -> (scalar: Unicode.Scalar, length: Int)? {
        // The longest entity we decode is `&#x10FFFF;` (10 bytes); `&hellip;` is 8.
        var j = start + 1
        while j < b.count, j - start <= 10, b[j] != UInt8(ascii: ";") { j += 1 }
        guard j < b.count, b[j] == UInt8(ascii: ";"), j > start + 1 else { return nil }
        let body = b[(start + 1)..<j]
        let length = j - start + 1
        if body.first == UInt8(ascii: "#") {
            var digits = body.dropFirst()
            var radix = 10
            if let x = digits.first, x == UInt8(ascii: "x") || x == UInt8(ascii: "X") {
                radix = 16
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty, let value = UInt32(String(decoding: digits, as: UTF8.self), radix: radix),
                value != 0, let scalar = Unicode.Scalar(value)
            else { return nil }
            return (scalar, length)
        }
        guard let scalar = namedEntities[String(decoding: body, as: UTF8.self)] else { return nil }
        return (scalar, length)
    }
}

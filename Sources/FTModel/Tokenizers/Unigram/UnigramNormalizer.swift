import Foundation

/// The `normalizer` of a `tokenizer.json` that fttrain reproduces with `tokenizers`' alignments:
/// `Sequence`, `Precompiled` (SentencePiece's charsmap), `Replace` (a string or a regex),
/// `Strip`, `Lowercase`, `NFKC`.
indirect enum TextNormalizer: Sendable {
    case sequence([TextNormalizer])
    case precompiled(PrecompiledCharsmap)
    /// `pattern` a literal string, or a regular expression when `regex` is set.
    case replace(pattern: String, regex: NSRegularExpressionBox?, content: String)
    case strip(left: Bool, right: Bool)
    case lowercase
    case nfkc

    /// Rewrites `text` in place.
    func normalize(_ text: inout AlignedText) {
        switch self {
        case .sequence(let list):
            for n in list { n.normalize(&text) }
        case .precompiled(let map):
            map.normalize(&text)
        case .replace(let pattern, let regex, let content):
            let matches = regex.map { $0.matches(in: text.scalars) } ?? Self.literalMatches(Array(pattern.unicodeScalars), in: text.scalars)
            if !matches.isEmpty { text.replace(matches: matches, with: Array(content.unicodeScalars)) }
        case .strip(let left, let right):
            let leading = left ? text.scalars.prefix { $0.properties.isWhitespace }.count : 0
            let trailing = right ? text.scalars.reversed().prefix { $0.properties.isWhitespace }.count : 0
            guard leading > 0 || trailing > 0 else { return }
            let end = max(leading, text.count - trailing)
            text.scalars = Array(text.scalars[leading..<end])
            text.alignments = Array(text.alignments[leading..<end])
        case .lowercase:
            // Each character becomes its full lowercase mapping; extra characters are inserted.
            var items: [(Unicode.Scalar, Int)] = []
            var changed = false
            for s in text.scalars {
                let lower = s.properties.lowercaseMapping.unicodeScalars
                if lower.count == 1 && lower.first == s {
                    items.append((s, 0))
                    continue
                }
                changed = true
                for (k, c) in lower.enumerated() { items.append((c, k == 0 ? 0 : 1)) }
                if lower.isEmpty { items.append((s, 0)) }
            }
            if changed { text.transform(0..<text.count, items) }
        case .nfkc:
            // Grapheme by grapheme: a cluster whose NFKC form differs is replaced as `Precompiled`
            // replaces one (same length keeps alignments, longer inserts, shorter removes).
            var items: [(Unicode.Scalar, Int)] = []
            var changed = false
            for grapheme in String(String.UnicodeScalarView(text.scalars)) {
                let old = Array(grapheme.unicodeScalars)
                let new = Array(String(grapheme).precomposedStringWithCompatibilityMapping.unicodeScalars)
                if old == new {
                    items += old.map { ($0, 0) }
                    continue
                }
                changed = true
                items += new.map { ($0, 0) }
                let diff = new.count - old.count
                if diff > 0 {
                    for k in (items.count - diff)..<items.count { items[k].1 = 1 }
                } else if diff < 0, !items.isEmpty {
                    items[items.count - 1].1 += diff
                }
            }
            if changed { text.transform(0..<text.count, items) }
        }
    }

    /// Non-overlapping occurrences of `pattern`, left to right.
    static func literalMatches(_ pattern: [Unicode.Scalar], in s: [Unicode.Scalar]) -> [Range<Int>] {
        guard !pattern.isEmpty, pattern.count <= s.count else { return [] }
        var result: [Range<Int>] = []
        var i = 0
        while i + pattern.count <= s.count {
            if s[i] == pattern[0] && s[i..<i + pattern.count].elementsEqual(pattern) {
                result.append(i..<i + pattern.count)
                i += pattern.count
            } else {
                i += 1
            }
        }
        return result
    }

    /// Reads a `normalizer` object (nil or JSON null: none).
    /// - Throws: ``BPETokenizerError`` naming `file` and the component it cannot reproduce.
    static func read(_ value: Any?, file: String) throws -> TextNormalizer? {
        guard let value, !(value is NSNull) else { return nil }
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw fail("normalizer is not an object with a type")
        }
        switch type {
        case "Sequence":
            guard let list = object["normalizers"] as? [Any] else { throw fail("normalizer Sequence has no normalizers array") }
            return .sequence(try list.map { try read($0, file: file) ?? .sequence([]) })
        case "Precompiled":
            guard let base64 = object["precompiled_charsmap"] as? String else {
                // tokenizers writes a missing charsmap as null: the normalizer does nothing.
                if object["precompiled_charsmap"] is NSNull { return .sequence([]) }
                throw fail("normalizer Precompiled has no precompiled_charsmap")
            }
            guard let data = Data(base64Encoded: base64) else { throw fail("normalizer Precompiled: precompiled_charsmap is not base64") }
            do {
                return .precompiled(try PrecompiledCharsmap(Array(data)))
            } catch let error as PrecompiledCharsmap.CharsmapError {
                throw fail("normalizer Precompiled: \(error.message)")
            }
        case "Replace":
            guard let content = object["content"] as? String, let pattern = object["pattern"] as? [String: Any] else {
                throw fail("normalizer Replace lacks pattern or content")
            }
            if let string = pattern["String"] as? String { return .replace(pattern: string, regex: nil, content: content) }
            if let regex = pattern["Regex"] as? String {
                guard let box = NSRegularExpressionBox(regex) else { throw fail("normalizer Replace: the regex \"\(regex)\" does not compile") }
                return .replace(pattern: regex, regex: box, content: content)
            }
            throw fail("normalizer Replace: pattern is neither String nor Regex")
        case "Strip":
            return .strip(left: (object["strip_left"] as? Bool) ?? true, right: (object["strip_right"] as? Bool) ?? true)
        case "Lowercase":
            return .lowercase
        case "NFKC":
            return .nfkc
        default:
            throw BPETokenizerError.unsupportedSetting(
                source: file, setting: "normalizer \(type) (supported: Sequence, Precompiled, Replace, Strip, Lowercase, NFKC)")
        }
    }
}

/// A compiled regular expression that matches over Unicode scalars (Oniguruma's syntax, which
/// `tokenizers` uses, agrees with ICU's on the patterns tokenizer files carry, such as `" {2,}"`).
final class NSRegularExpressionBox: @unchecked Sendable {
    let regex: NSRegularExpression

    init?(_ pattern: String) {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        self.regex = regex
    }

    /// The matches in `scalars`, as scalar ranges (empty matches dropped).
    func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let string = String(String.UnicodeScalarView(scalars))
        let utf16 = string.utf16
        // UTF-16 offset → scalar index.
        var scalarAt = [Int](repeating: 0, count: utf16.count + 1)
        var u = 0
        for (k, s) in scalars.enumerated() {
            let width = s.value > 0xFFFF ? 2 : 1
            for w in 0..<width { scalarAt[u + w] = k }
            u += width
        }
        scalarAt[u] = scalars.count
        return regex.matches(in: string, range: NSRange(location: 0, length: utf16.count)).compactMap { m in
            guard m.range.length > 0 else { return nil }
            return scalarAt[m.range.location]..<scalarAt[m.range.location + m.range.length]
        }
    }
}

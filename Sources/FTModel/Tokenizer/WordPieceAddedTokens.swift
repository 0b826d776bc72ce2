import Foundation

/// A token added to a WordPiece vocabulary, as Hugging Face's `tokenizer.add_tokens([...])` makes
/// it (`tokenizers`' `WordPieceAddedToken`): matched in the text before WordPiece, with its own id.
///
/// A `normalized` token (the default for a non-special one) is matched in the *normalized* text
/// against its own normalized content, so with `do_lower_case` "Fttrain" matches "FTTRAIN" and
/// "fttrain", with `strip_accents` "café" matches "cafe", and a CJK word "北京大学" matches
/// wherever those four characters follow one another. A token that is not normalized (the
/// special tokens) is matched in the raw text, case-sensitively. Matches may fall inside words
/// (`single_word` false) and never strip neighbouring spaces (`lstrip`/`rstrip` false): the only
/// settings fttrain reads, and those `add_tokens` gives.
public struct WordPieceAddedToken: Sendable, Equatable {
    /// The token's text as the user gave it (`content`).
    public var content: String
    /// Its id: after the vocabulary for a new token, the vocabulary's own for a token it already had.
    public var id: Int32
    /// Special (`[CLS]`-like): matched in the raw text, not normalized.
    public var special: Bool
    /// Matched in the normalized text (HF's default `normalized = !special`).
    public var normalized: Bool

    public init(content: String, id: Int32, special: Bool = false, normalized: Bool? = nil) {
        self.content = content
        self.id = id
        self.special = special
        self.normalized = normalized ?? !special
    }
}

/// Errors of `add_tokens`: bad token lists and added-token files that fttrain cannot honour.
public enum WordPieceAddedTokenError: Error, CustomStringConvertible, Equatable {
    /// An empty token (or one of whitespace only), at its position in the list.
    case emptyToken(index: Int, source: String)
    /// The same token twice in the list.
    case duplicateToken(String, source: String)
    /// A token file entry or setting fttrain does not support (`lstrip`, `rstrip`, `single_word`,
    /// ids that do not follow the vocabulary).
    case unsupported(String, source: String)

    public var description: String {
        switch self {
        case .emptyToken(let index, let source):
            return "add_tokens (\(source)): token \(index + 1) is empty"
        case .duplicateToken(let token, let source):
            return "add_tokens (\(source)): \"\(token)\" is listed twice"
        case .unsupported(let message, let source):
            return "added tokens (\(source)): \(message)"
        }
    }
}

/// Leftmost-longest search of a set of patterns (scalar arrays), as `tokenizers`' added-token
/// split (aho-corasick `MatchKind::LeftmostLongest`): at the first position where any pattern
/// matches, the longest one wins; the search resumes after it.
struct WordPieceAddedTokenMatcher: Sendable {
    /// Patterns by their first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int32)]]

    var isEmpty: Bool { byFirst.isEmpty }

    init(_ patterns: [(scalars: [Unicode.Scalar], id: Int32)]) {
        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int32)]] = [:]
        for p in patterns where !p.scalars.isEmpty { table[p.scalars[0], default: []].append(p) }
        for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
        byFirst = table
    }

    /// The longest pattern matching `text` at `i`: its length and id.
    func match(_ text: [Unicode.Scalar], at i: Int) -> (length: Int, id: Int32)? {
        guard let candidates = byFirst[text[i]] else { return nil }
        for p in candidates {
            let m = p.scalars.count
            if i + m <= text.count && text[i..<(i + m)].elementsEqual(p.scalars) { return (m, p.id) }
        }
        return nil
    }

    /// Every match in `text`, left to right, as `(start, end, id)` ranges of `text`.
    func matches(in text: [Unicode.Scalar]) -> [(start: Int, end: Int, id: Int32)] {
        var found: [(start: Int, end: Int, id: Int32)] = []
        var i = 0
        while i < text.count {
            if let (m, id) = match(text, at: i) {
                found.append((i, i + m, id))
                i += m
            } else {
                i += 1
            }
        }
        return found
    }
}

extension BasicTokenizer {
    /// `BertNormalizer` over `text` with every output scalar's origin: the index in `text` of the
    /// scalar it came from (the alignment `tokenizers`' `NormalizedString` keeps). The steps are
    /// those of ``forEachPreToken(in:_:)`` before its split: removed characters dropped, whitespace
    /// made a space, CJK ideographs put between spaces, accents stripped (NFD per scalar, marks
    /// dropped), lower-casing. NFD is taken per scalar, not per word: the two differ only in the
    /// order of combining marks, which `strip_accents` drops anyway.
    func normalizeAligned(_ text: ArraySlice<Unicode.Scalar>) -> (scalars: [Unicode.Scalar], origins: [Int]) {
        var out: [Unicode.Scalar] = [], origins: [Int] = []
        out.reserveCapacity(text.count)
        origins.reserveCapacity(text.count)
        let space = Unicode.Scalar(0x20)!
        for i in text.indices {
            let s = text[i], v = s.value
            if v < 0x80 {
                if v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D {
                    out.append(space)
                } else if v < 0x20 || v == 0x7F {
                    continue
                } else {
                    out.append(lowercase && v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : s)
                }
                origins.append(i)
                continue
            }
            if Self.isRemoved(v) { continue }
            if Self.isWhitespace(v) {
                out.append(space)
                origins.append(i)
                continue
            }
            if tokenizeChineseChars && Self.isChineseCharacter(v) {
                out.append(contentsOf: [space, s, space])
                origins.append(contentsOf: [i, i, i])
                continue
            }
            var pieces: [Unicode.Scalar] = [s]
            if stripAccents {
                pieces = String(s).decomposedStringWithCanonicalMapping.unicodeScalars.filter { !Self.isNonspacingMark($0.value) }
            }
            for p in pieces {
                if lowercase && p.properties.changesWhenLowercased {
                    for l in p.properties.lowercaseMapping.unicodeScalars {
                        out.append(l)
                        origins.append(i)
                    }
                } else {
                    out.append(p)
                    origins.append(i)
                }
            }
        }
        return (out, origins)
    }

    /// The normalized form of an added token's content: the pattern `tokenizers` matches it by.
    func normalizedPattern(_ content: String) -> [Unicode.Scalar] {
        normalizeAligned(Array(content.unicodeScalars)[...]).scalars
    }
}

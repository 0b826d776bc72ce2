/// A token matched in raw text before pre-tokenization (`added_tokens` of `tokenizer.json`; GGUF
/// control and user-defined tokens): `<|im_start|>` and the like.
public struct BPEAddedToken: Sendable, Equatable, Codable {
    public var id: Int32
    public var content: String
    /// Special tokens are dropped by `decode(skipSpecialTokens: true)`.
    public var special: Bool
    /// Whether the match also takes the whitespace before it (`lstrip`) / after it (`rstrip`).
    public var lstrip: Bool
    public var rstrip: Bool

    public init(id: Int32, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
    }
}

/// Splits text on the added tokens as HF's `AddedVocabulary` does: leftmost match, the longest token
/// at that position, case-sensitive, on the raw text (no normalizer).
struct AddedTokenMatcher: Sendable {
    /// Tokens as scalars, longest first.
    private let tokens: [(scalars: [Unicode.Scalar], token: BPEAddedToken)]
    private let firstScalars: Set<Unicode.Scalar>
    /// Bit `v` set when an added token starts with the ASCII scalar `v` (the common case, tested
    /// without hashing).
    private let asciiFirst: (UInt64, UInt64)

    init(_ added: [BPEAddedToken]) {
        tokens = added.filter { !$0.content.isEmpty }.map { (Array($0.content.unicodeScalars), $0) }
            .sorted { $0.scalars.count > $1.scalars.count }
        firstScalars = Set(tokens.map { $0.scalars[0] })
        var mask: (UInt64, UInt64) = (0, 0)
        for s in firstScalars where s.value < 128 {
            if s.value < 64 { mask.0 |= 1 << UInt64(s.value) } else { mask.1 |= 1 << UInt64(s.value - 64) }
        }
        asciiFirst = mask
    }

    @inline(__always) private func mayStart(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 64 { return asciiFirst.0 & (1 << UInt64(v)) != 0 }
        if v < 128 { return asciiFirst.1 & (1 << UInt64(v - 64)) != 0 }
        return firstScalars.contains(s)
    }

    /// Calls `text` for each stretch of ordinary text and `token` for each added token, in order.
    func split(_ s: [Unicode.Scalar], text: (Range<Int>) -> Void, token: (Int32) -> Void) {
        split(s, text: text, token: { id, _ in token(id) })
    }

    /// The same, with the scalars each added token took (its match and the whitespace it strips).
    func split(_ s: [Unicode.Scalar], text: (Range<Int>) -> Void, token: (Int32, Range<Int>) -> Void) {
        var start = 0
        var i = 0
        let n = s.count
        while i < n {
            if mayStart(s[i]), let match = self.match(s, at: i) {
                var lo = i
                if match.lstrip {
                    while lo > start && s[lo - 1].properties.isWhitespace { lo -= 1 }
                }
                var hi = i + match.count
                if match.rstrip {
                    while hi < n && s[hi].properties.isWhitespace { hi += 1 }
                }
                if start < lo { text(start..<lo) }
                token(match.id, lo..<hi)
                i = hi
                start = hi
            } else {
                i += 1
            }
        }
        if start < n { text(start..<n) }
    }

    private func match(_ s: [Unicode.Scalar], at i: Int) -> (count: Int, id: Int32, lstrip: Bool, rstrip: Bool)? {
        for t in tokens where i + t.scalars.count <= s.count {
            var equal = true
            for (k, c) in t.scalars.enumerated() where s[i + k] != c {
                equal = false
                break
            }
            if equal { return (t.scalars.count, t.token.id, t.token.lstrip, t.token.rstrip) }
        }
        return nil
    }
}

import Foundation

/// RoBERTa's byte-level BPE tokenizer as Hugging Face's `RobertaTokenizerFast` runs it from a
/// `tokenizer.json`: added tokens split out of the raw text first (leftmost, longest, with their
/// `lstrip`/`rstrip`), each other stretch pre-tokenized by GPT-2's regex (`ByteLevel`, with a
/// space put before a stretch that does not start with one when `add_prefix_space`), its bytes
/// merged by rank (``BPEMerges``); then `RobertaProcessing`: `<s> A </s>` and
/// `<s> A </s></s> B </s>`, token types all 0, and with `trim_offsets` the spaces a token begins
/// or ends with left out of its offsets.
///
/// Offsets are Unicode-scalar ranges of the input (Python `str` indices, as the fast tokenizer's
/// `return_offsets_mapping` gives them): a token covering part of a character's UTF-8 bytes spans
/// the whole character; special tokens span (0, 0).
public struct RobertaTokenizer: Sendable {
    /// Token strings (in the byte alphabet; added tokens as written) indexed by id. [vocabularySize]
    public let vocabulary: [String]
    public let addedTokens: [BPEAddedToken]
    /// `<s>`: the first token of every encoding (the classification head reads it).
    public let clsTokenId: Int32
    /// `</s>`: after each sequence (twice between a pair's sequences).
    public let sepTokenId: Int32
    public let padTokenId: Int32
    public let unkTokenId: Int32?
    /// `<mask>` (an added token or a vocabulary entry), when there is one.
    public let maskTokenId: Int32?
    /// Whether a space is put before each stretch of text that does not begin with one
    /// (RobertaTokenizerFast's `add_prefix_space`; needed for words given one by one).
    public let addPrefixSpace: Bool
    /// Whether offsets leave out a token's leading and trailing spaces (`trim_offsets`).
    public let trimOffsets: Bool

    let bpe: BPEMerges
    let addedTokenMatcher: AddedTokenMatcher

    public var vocabularySize: Int { vocabulary.count }

    /// - Throws: ``BPETokenizerError`` when a merge names an unknown token or an id is out of range.
    public init(
        vocabulary: [String], merges: [(String, String)], addedTokens: [BPEAddedToken], clsTokenId: Int32, sepTokenId: Int32,
        padTokenId: Int32, unkTokenId: Int32?, addPrefixSpace: Bool, trimOffsets: Bool, source: String = "in-memory tokenizer"
    ) throws {
        var vocab = vocabulary
        for t in addedTokens {
            guard t.id >= 0 else { throw BPETokenizerError.unknownToken(source: source, key: "added token id", token: "\(t.id)") }
            if Int(t.id) >= vocab.count { vocab += [String](repeating: "", count: Int(t.id) + 1 - vocab.count) }
            if vocab[Int(t.id)].isEmpty { vocab[Int(t.id)] = t.content }
        }
        for (key, id) in [("cls", clsTokenId), ("sep", sepTokenId), ("pad", padTokenId), ("unk", unkTokenId ?? 0)]
        where id < 0 || Int(id) >= vocab.count {
            throw BPETokenizerError.unknownToken(source: source, key: "\(key) token id", token: "\(id)")
        }
        var ids: [String: Int32] = [:]
        for (i, token) in vocab.enumerated() where !token.isEmpty && ids[token] == nil { ids[token] = Int32(i) }
        bpe = try BPEMerges(tokenIds: ids, merges: merges, source: source)
        self.vocabulary = vocab
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        addedTokenMatcher = AddedTokenMatcher(addedTokens)
        self.clsTokenId = clsTokenId
        self.sepTokenId = sepTokenId
        self.padTokenId = padTokenId
        self.unkTokenId = unkTokenId
        maskTokenId = addedTokens.first { $0.content == "<mask>" }?.id ?? ids["<mask>"]
        self.addPrefixSpace = addPrefixSpace
        self.trimOffsets = trimOffsets
    }

    // MARK: - Encoding

    /// The tokens of `text` without `<s>`/`</s>`, with their character offsets (trimmed as the
    /// post-processor trims them).
    public func encodeWithOffsets(_ text: String) -> OffsetEncoding { pieces(of: text, prefixSpace: addPrefixSpace) }

    /// The tokens of `text` with their offsets, a space put before each stretch that does not
    /// begin with one when `prefixSpace`.
    func pieces(of text: String, prefixSpace: Bool) -> OffsetEncoding {
        let scalars = Array(text.unicodeScalars)
        var result = OffsetEncoding(ids: [], starts: [], ends: [])
        var bytes: [UInt8] = [], origins: [Int] = [], ids: [Int32] = []
        var words: [Unicode.Scalar] = []
        addedTokenMatcher.split(
            scalars,
            text: { range in
                // The stretch, with the prefix space where asked for; `origin[k]` is the input
                // scalar of stretch scalar k (the added space takes the first character's).
                words.removeAll(keepingCapacity: true)
                var origin: [Int] = []
                guard !range.isEmpty else { return }
                if prefixSpace && scalars[range.lowerBound] != " " {
                    words.append(" ")
                    origin.append(range.lowerBound)
                }
                words += scalars[range]
                origin += Array(range)
                BPEPreTokenizer.byteLevel.forEachWord(in: words, range: 0..<words.count) { word in
                    bytes.removeAll(keepingCapacity: true)
                    origins.removeAll(keepingCapacity: true)
                    for k in word {
                        UTF8.encode(words[k]) { byte in
                            // A byte outside the vocabulary's alphabet is dropped, as HF drops it.
                            if bpe.byteIds[Int(byte)] >= 0 {
                                bytes.append(byte)
                                origins.append(origin[k])
                            }
                        }
                    }
                    ids.removeAll(keepingCapacity: true)
                    bpe.encode(word: bytes, into: &ids)
                    var b = 0
                    for id in ids {
                        let length = vocabulary[Int(id)].unicodeScalars.count  // one alphabet character per byte
                        result.ids.append(id)
                        result.starts.append(origins[b])
                        result.ends.append(origins[b + length - 1] + 1)
                        b += length
                    }
                }
            },
            token: { id, range in
                result.ids.append(id)
                result.starts.append(range.lowerBound)
                result.ends.append(range.upperBound)
            })
        if trimOffsets { trim(&result, prefixSpace: prefixSpace) }
        return result
    }

    /// `tokenizers`' `process_offsets`: a token's leading spaces (`Ġ` or whitespace) move its
    /// start right and its trailing ones its end left, except the single space
    /// `add_prefix_space` put before the first token.
    private func trim(_ e: inout OffsetEncoding, prefixSpace: Bool) {
        let space = ByteLevelAlphabet.characters[Int(UInt8(ascii: " "))]
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == space || c.properties.isWhitespace }
        for i in 0..<e.count {
            let token = vocabulary[Int(e.ids[i])].unicodeScalars
            var leading = token.prefix { isSpace($0) }.count
            let trailing = token.reversed().prefix { isSpace($0) }.count
            if leading > 0 {
                if (i == 0 || e.starts[i] == 0) && prefixSpace && leading == 1 { leading = 0 }
                e.starts[i] = min(e.starts[i] + leading, e.ends[i])
            }
            if trailing > 0 && e.ends[i] >= trailing { e.ends[i] = max(e.ends[i] - trailing, e.starts[i]) }
        }
    }

    /// Token ids of `text` without `<s>`/`</s>`.
    public func encodeIds(_ text: String) -> [Int32] { encodeWithOffsets(text).ids }

    /// `<s> a </s>` or `<s> a </s></s> b </s>`, token types 0, no padding; with `maxLength`,
    /// truncated as the fast tokenizer's `longest_first` does with RoBERTa's 2 (single) or 4
    /// (pair) special tokens (`BertTokenizer.truncatedLengths`).
    public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil) -> TokenizerEncoding {
        encodeWithOffsets(text, pair: pair, maxLength: maxLength).encoding
    }

    /// ``encode(_:pair:maxLength:)`` with every token's character offsets into its own text
    /// (`sequenceIds[k]`: 0 for the first text, 1 for the pair, nil for a special token).
    public func encodeWithOffsets(
        _ text: String, pair: String? = nil, maxLength: Int? = nil
    )
        -> (encoding: TokenizerEncoding, starts: [Int], ends: [Int], sequenceIds: [Int?])
    {
        var a = encodeWithOffsets(text)
        var b = pair.map { encodeWithOffsets($0) }
        if let maxLength {
            // A pair has one special token more than BERT's `[CLS] a [SEP] b [SEP]`.
            let (la, lb) = BertTokenizer.truncatedLengths(a.count, b?.count, maxLength: b == nil ? maxLength : maxLength - 1)
            a.keepFirst(la)
            if let lb { b?.keepFirst(lb) }
        }
        var ids: [Int32] = [clsTokenId], starts = [0], ends = [0], sequences: [Int?] = [nil]
        func append(_ e: OffsetEncoding, _ sequence: Int) {
            ids += e.ids
            starts += e.starts
            ends += e.ends
            sequences += [Int?](repeating: sequence, count: e.count)
            ids.append(sepTokenId)
            starts.append(0)
            ends.append(0)
            sequences.append(nil)
        }
        append(a, 0)
        if let b {
            ids.append(sepTokenId)
            starts.append(0)
            ends.append(0)
            sequences.append(nil)
            append(b, 1)
        }
        let encoding = TokenizerEncoding(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: ids.count), attentionMask: [Int32](repeating: 1, count: ids.count))
        return (encoding, starts, ends, sequences)
    }

    /// The token strings of `ids` (out-of-range ids are left out).
    public func tokens(_ ids: [Int32]) -> [String] {
        ids.compactMap { $0 >= 0 && Int($0) < vocabulary.count ? vocabulary[Int($0)] : nil }
    }
}

extension OffsetEncoding {
    /// Drops every token after the first `n`.
    mutating func keepFirst(_ n: Int) {
        guard n < count else { return }
        ids.removeSubrange(n...)
        starts.removeSubrange(n...)
        ends.removeSubrange(n...)
    }
}

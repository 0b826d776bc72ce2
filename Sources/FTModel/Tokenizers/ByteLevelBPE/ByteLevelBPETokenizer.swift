import Foundation

/// A byte-level BPE tokenizer (GPT-2, SmolLM2, StarCoder style) giving the ids of Hugging Face's
/// tokenizer: added/special tokens split out of the raw text first (leftmost, longest), each other
/// stretch pre-tokenized (``BPEPreTokenizer``), each word's UTF-8 bytes mapped to GPT-2's byte
/// alphabet and merged by rank (``BPEMerges``). Decoding maps tokens back to bytes and reads them as
/// UTF-8, invalid sequences becoming U+FFFD as HF's `from_utf8_lossy` does.
///
/// Built from a `tokenizer.json` (+ `tokenizer_config.json`) with
/// ``load(tokenizerJSON:tokenizerConfig:)`` or from a GGUF file's metadata; written back with
/// ``tokenizerJSONData()`` / ``tokenizerConfigJSONData()``.
public struct ByteLevelBPETokenizer: CausalTokenizer {
    /// Token strings (in the byte alphabet; added tokens as written) indexed by id. [vocabularySize]
    public let vocabulary: [String]
    /// The ranked merges, rank = index, as token-string pairs.
    public let merges: [(String, String)]
    /// Tokens matched in raw text before pre-tokenization.
    public let addedTokens: [BPEAddedToken]
    public let preTokenizer: BPEPreTokenizer
    public let bosTokenId: Int32?
    public let eosTokenId: Int32
    public let padTokenId: Int32
    /// The unknown token's id, when the model names one (byte-level BPE never produces it).
    public let unkTokenId: Int32?
    public let addsBOS: Bool
    /// The Jinja chat template text, when the model has one (rendered by ``applyChatTemplate(_:addGenerationPrompt:)``
    /// only if it is a known one).
    public let chatTemplate: String?

    private let bpe: BPEMerges
    /// Token string → id (the first id of a repeated string).
    private let tokenIds: [String: Int32]
    private let matcher: AddedTokenMatcher
    /// Added tokens by id.
    private let addedById: [Int32: BPEAddedToken]

    public var vocabularySize: Int { vocabulary.count }

    /// Creates a tokenizer.
    /// - Parameters:
    ///   - vocabulary: token of id `i` at index `i` (added tokens included; an added token whose id is past
    ///     the end extends it).
    ///   - merges: ranked pairs of tokens of `vocabulary`.
    ///   - source: what errors name (the file or GGUF).
    /// - Throws: ``BPETokenizerError`` when a merge names an unknown token or an id is out of range.
    public init(
        vocabulary: [String], merges: [(String, String)], addedTokens: [BPEAddedToken], preTokenizer: BPEPreTokenizer,
        bosTokenId: Int32?, eosTokenId: Int32, padTokenId: Int32, unkTokenId: Int32? = nil, addsBOS: Bool,
        chatTemplate: String?, source: String = "in-memory tokenizer"
    ) throws {
        var vocab = vocabulary
        for t in addedTokens {
            guard t.id >= 0 else { throw BPETokenizerError.unknownToken(source: source, key: "added token id", token: "\(t.id)") }
            if Int(t.id) >= vocab.count { vocab += [String](repeating: "", count: Int(t.id) + 1 - vocab.count) }
            if vocab[Int(t.id)].isEmpty { vocab[Int(t.id)] = t.content }
        }
        for (key, id) in [("bos", bosTokenId), ("eos", eosTokenId), ("pad", padTokenId), ("unk", unkTokenId)] {
            if let id, id < 0 || Int(id) >= vocab.count {
                throw BPETokenizerError.unknownToken(source: source, key: "\(key) token id", token: "\(id)")
            }
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(vocab.count)
        for (i, token) in vocab.enumerated() where !token.isEmpty && ids[token] == nil { ids[token] = Int32(i) }
        self.bpe = try BPEMerges(tokenIds: ids, merges: merges, source: source)
        self.tokenIds = ids
        self.vocabulary = vocab
        self.merges = merges
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        self.preTokenizer = preTokenizer
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
        self.unkTokenId = unkTokenId
        self.addsBOS = addsBOS && bosTokenId != nil
        self.chatTemplate = chatTemplate
        self.matcher = AddedTokenMatcher(addedTokens)
        var byId: [Int32: BPEAddedToken] = [:]
        for t in addedTokens { byId[t.id] = t }
        self.addedById = byId
    }

    /// The same tokenizer with another pre-tokenizer.
    public func with(preTokenizer: BPEPreTokenizer) throws -> ByteLevelBPETokenizer {
        try ByteLevelBPETokenizer(
            vocabulary: vocabulary, merges: merges, addedTokens: addedTokens, preTokenizer: preTokenizer, bosTokenId: bosTokenId,
            eosTokenId: eosTokenId, padTokenId: padTokenId, unkTokenId: unkTokenId, addsBOS: addsBOS, chatTemplate: chatTemplate)
    }

    /// The same tokenizer with another chat template (or none).
    public func with(chatTemplate: String?) throws -> ByteLevelBPETokenizer {
        try ByteLevelBPETokenizer(
            vocabulary: vocabulary, merges: merges, addedTokens: addedTokens, preTokenizer: preTokenizer, bosTokenId: bosTokenId,
            eosTokenId: eosTokenId, padTokenId: padTokenId, unkTokenId: unkTokenId, addsBOS: addsBOS, chatTemplate: chatTemplate)
    }

    // MARK: - Encoding

    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        if addsBOS, let bos = bosTokenId { ids.append(bos) }
        encodeWithoutSpecials(text, into: &ids)
        return ids
    }

    /// The ids of `text` without the BOS (added tokens written in it are still recognised).
    public func encodeWithoutSpecials(_ text: String, into ids: inout [Int32]) {
        let scalars = Array(text.unicodeScalars)
        ids.reserveCapacity(ids.count + scalars.count / 3 + 4)
        var bytes: [UInt8] = []
        matcher.split(
            scalars,
            text: { range in
                preTokenizer.forEachWord(in: scalars, range: range) { word in
                    bytes.removeAll(keepingCapacity: true)
                    for k in word { UTF8.encode(scalars[k]) { bytes.append($0) } }
                    bpe.encode(word: bytes, into: &ids)
                }
            },
            token: { ids.append($0) })
    }

    /// The token strings of `ids` (out-of-range ids are left out).
    public func tokens(_ ids: [Int32]) -> [String] {
        ids.compactMap { $0 >= 0 && Int($0) < vocabulary.count ? vocabulary[Int($0)] : nil }
    }

    /// The id of a token string, if the vocabulary has it.
    public func id(of token: String) -> Int32? {
        tokenIds[token]
    }

    // MARK: - Decoding

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var out = ""
        var bytes: [UInt8] = []
        func flush() {
            if !bytes.isEmpty {
                out += String(decoding: bytes, as: UTF8.self)
                bytes.removeAll(keepingCapacity: true)
            }
        }
        for id in ids {
            if let added = addedById[id] {
                if skipSpecialTokens && added.special { continue }
                flush()
                out += added.content
            } else if id >= 0 && Int(id) < vocabulary.count {
                let token = vocabulary[Int(id)]
                if let raw = ByteLevelAlphabet.decode(token) {
                    bytes += raw
                } else {
                    bytes += Array(token.utf8)
                }
            }
        }
        flush()
        return out
    }
}

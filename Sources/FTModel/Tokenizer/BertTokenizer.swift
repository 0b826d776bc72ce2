import Foundation

/// Model inputs for one sequence (or sequence pair), without padding.
public struct TokenizerEncoding: Sendable, Equatable {
    /// Token ids, including `[CLS]` and `[SEP]`.
    public var inputIds: [Int32]
    /// 0 for the first segment (with its `[CLS]` and `[SEP]`), 1 for the second one (with its `[SEP]`).
    public var tokenTypeIds: [Int32]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int32]

    /// Creates an encoding from its three parallel arrays.
    public init(inputIds: [Int32], tokenTypeIds: [Int32], attentionMask: [Int32]) {
        self.inputIds = inputIds
        self.tokenTypeIds = tokenTypeIds
        self.attentionMask = attentionMask
    }

    /// Number of tokens.
    public var count: Int { inputIds.count }
}

/// Errors from building or loading a ``BertTokenizer``.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// `vocab.txt` does not exist.
    case vocabularyFileMissing(URL)
    /// The model directory itself does not exist.
    case modelDirectoryMissing(URL)
    /// A file exists but could not be read or decoded.
    case unreadableFile(URL, reason: String)
    /// The vocabulary has no tokens.
    case emptyVocabulary(source: String)
    /// A required special token (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`) is not in the vocabulary.
    case missingSpecialToken(String, source: String)
    /// `tokenizer_config.json` is not valid JSON or has a setting of the wrong type.
    case invalidTokenizerConfig(URL, reason: String)

    /// Human-readable message naming the file involved.
    public var description: String {
        switch self {
        case .vocabularyFileMissing(let url):
            return "Tokenizer vocabulary file not found: \(url.path)"
        case .modelDirectoryMissing(let url):
            return "Tokenizer model directory not found: \(url.path)"
        case .unreadableFile(let url, let reason):
            return "Cannot read tokenizer file \(url.path): \(reason)"
        case .emptyVocabulary(let source):
            return "Tokenizer vocabulary is empty (\(source))"
        case .missingSpecialToken(let token, let source):
            return "Tokenizer vocabulary lacks the special token \(token) (\(source))"
        case .invalidTokenizerConfig(let url, let reason):
            return "Invalid tokenizer config \(url.path): \(reason)"
        }
    }
}

/// A BERT WordPiece tokenizer giving the same ids as Hugging Face's fast tokenizer (`tokenizer.json`:
/// BertNormalizer + BertPreTokenizer + WordPiece + BERT post-processing) and, except for the documented
/// corner cases in ``BasicTokenizer``, the python `BertTokenizer`.
///
/// Special tokens (`[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` when in the vocabulary) written in the
/// input text are recognized as such, as HF does with its added tokens: the raw text is split on them
/// (case-sensitive, leftmost-longest match, before any normalization) and they get their own id.
public struct BertTokenizer: Sendable {
    /// The vocabulary, indexed by id: `vocab.txt`'s tokens, then the added tokens that got new
    /// ids (``addedTokens``), so `vocabulary.count` is `len(tokenizer)` in Hugging Face's terms.
    public let vocabulary: [String]
    /// Tokens added to the vocabulary (`add_tokens`, or the added tokens of the model directory's
    /// tokenizer files), in the order they were added; BERT's own special tokens are not listed.
    public let addedTokens: [WordPieceAddedToken]
    /// Number of `vocab.txt` tokens: added tokens with new ids start here.
    public let wordPieceVocabularySize: Int
    let wordPiece: WordPiece
    let basic: BasicTokenizer
    /// Tokens recognized in the raw text (the special ones and added tokens that are not
    /// normalized), case-sensitive, before any normalization.
    let rawMatcher: WordPieceAddedTokenMatcher
    /// Added tokens recognized in the normalized text, by their normalized content.
    let normalizedMatcher: WordPieceAddedTokenMatcher

    /// `[PAD]` id (0 for BERT).
    public let padTokenId: Int32
    /// `[CLS]` id (101 for BERT uncased).
    public let clsTokenId: Int32
    /// `[SEP]` id (102 for BERT uncased).
    public let sepTokenId: Int32
    /// `[UNK]` id (100 for BERT uncased).
    public let unkTokenId: Int32
    /// `[MASK]` id, if the vocabulary has it.
    public let maskTokenId: Int32?

    /// Whether the text is lower-cased.
    public var doLowerCase: Bool { basic.lowercase }
    /// Whether accents are stripped (resolved: `nil` at init follows `doLowerCase`).
    public var stripAccents: Bool { basic.stripAccents }
    /// Whether spaces are put around CJK ideographs.
    public var tokenizeChineseChars: Bool { basic.tokenizeChineseChars }

    /// Number of vocabulary entries (rows of the embedding matrix).
    public var vocabularySize: Int { vocabulary.count }

    /// Creates a tokenizer from a vocabulary (token of id `i` at index `i`).
    /// - Parameters:
    ///   - doLowerCase: lower-case the input (BertNormalizer `lowercase`).
    ///   - stripAccents: strip accents; `nil` means "same as `doLowerCase`" (HF's default).
    ///   - tokenizeChineseChars: split around CJK ideographs.
    ///   - addedTokens: tokens added to the vocabulary (see ``WordPieceAddedToken``); new ids follow it.
    /// - Throws: ``TokenizerError`` if the vocabulary is empty or lacks `[CLS]`, `[SEP]`, `[PAD]` or `[UNK]`.
    public init(
        vocabulary: [String], doLowerCase: Bool = true, stripAccents: Bool? = nil,
        tokenizeChineseChars: Bool = true, addedTokens: [WordPieceAddedToken] = []
    ) throws {
        try self.init(
            vocabulary: vocabulary, doLowerCase: doLowerCase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChineseChars, addedTokens: addedTokens, source: "in-memory vocabulary")
    }

    init(
        vocabulary: [String], doLowerCase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool,
        addedTokens: [WordPieceAddedToken] = [], source: String
    ) throws {
        guard !vocabulary.isEmpty else { throw TokenizerError.emptyVocabulary(source: source) }
        var vocab: [VocabKey: Int32] = [:]
        vocab.reserveCapacity(vocabulary.count)
        for (i, token) in vocabulary.enumerated() {
            vocab[VocabKey(token)] = Int32(i)  // a duplicated token keeps its last id, as in HF
        }
        func required(_ token: String) throws -> Int32 {
            guard let id = vocab[VocabKey(token)] else { throw TokenizerError.missingSpecialToken(token, source: source) }
            return id
        }
        self.clsTokenId = try required("[CLS]")
        self.sepTokenId = try required("[SEP]")
        self.padTokenId = try required("[PAD]")
        self.unkTokenId = try required("[UNK]")
        self.maskTokenId = vocab[VocabKey("[MASK]")]
        self.wordPieceVocabularySize = vocabulary.count
        self.wordPiece = WordPiece(vocab: vocab, unkId: unkTokenId)
        let basic = BasicTokenizer(
            lowercase: doLowerCase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChineseChars)
        self.basic = basic
        var raw: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if let id = vocab[VocabKey(token)] { raw.append((Array(token.unicodeScalars), id)) }
        }
        // Added tokens: new ids must follow the vocabulary one after the other (HF gives them so).
        var all = vocabulary
        var normalized: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in addedTokens {
            if Int(token.id) >= vocabulary.count {
                guard Int(token.id) == all.count else {
                    throw WordPieceAddedTokenError.unsupported(
                        "\"\(token.content)\" has id \(token.id); the next free id is \(all.count) (added ids follow the vocabulary)",
                        source: source)
                }
                all.append(token.content)
            } else if token.id < 0 {
                throw WordPieceAddedTokenError.unsupported("\"\(token.content)\" has the negative id \(token.id)", source: source)
            }
            if token.normalized {
                normalized.append((basic.normalizedPattern(token.content), token.id))
            } else {
                raw.append((Array(token.content.unicodeScalars), token.id))
            }
        }
        self.vocabulary = all
        self.addedTokens = addedTokens
        self.rawMatcher = WordPieceAddedTokenMatcher(raw)
        self.normalizedMatcher = WordPieceAddedTokenMatcher(normalized)
    }

    /// Reads vocab.txt and (if present) tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars) from a Hugging Face model directory.
    /// Added tokens come from `tokenizer.json`'s `added_tokens`, else `tokenizer_config.json`'s
    /// `added_tokens_decoder`, else `added_tokens.json` (``WordPieceAddedTokenFiles``), as transformers reads them.
    ///
    /// Missing settings take HF's defaults (`do_lower_case: true`, `strip_accents: null`,
    /// `tokenize_chinese_chars: true`).
    /// - Throws: ``TokenizerError`` naming the file that is missing or invalid.
    public static func load(modelDirectory: URL) throws -> BertTokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDirectory.path, isDirectory: &isDir), isDir.boolValue else {
            throw TokenizerError.modelDirectoryMissing(modelDirectory)
        }
        let vocabURL = modelDirectory.appendingPathComponent("vocab.txt")
        let tokens = try WordPiece.readVocabularyFile(vocabURL)

        var doLowerCase = true
        var stripAccents: Bool? = nil
        var tokenizeChinese = true
        let configURL = modelDirectory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let data: Data
            do {
                data = try Data(contentsOf: configURL)
            } catch {
                throw TokenizerError.unreadableFile(configURL, reason: "\(error)")
            }
            let config: TokenizerConfig
            do {
                config = try JSONDecoder().decode(TokenizerConfig.self, from: data)
            } catch let DecodingError.typeMismatch(_, context) {
                let key = context.codingPath.map(\.stringValue).joined(separator: ".")
                throw TokenizerError.invalidTokenizerConfig(
                    configURL, reason: "\"\(key)\" must be true, false or null")
            } catch {
                throw TokenizerError.invalidTokenizerConfig(configURL, reason: "not a valid JSON object (\(error))")
            }
            doLowerCase = config.do_lower_case ?? true
            stripAccents = config.strip_accents
            tokenizeChinese = config.tokenize_chinese_chars ?? true
        }
        let added = try WordPieceAddedTokenFiles.read(modelDirectory: modelDirectory, vocabulary: tokens)
        return try BertTokenizer(
            vocabulary: tokens, doLowerCase: doLowerCase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChinese, addedTokens: added.tokens, source: added.source ?? vocabURL.path)
    }

    /// The settings read from `tokenizer_config.json` (other keys are ignored).
    private struct TokenizerConfig: Decodable {
        var do_lower_case: Bool?
        var strip_accents: Bool?
        var tokenize_chinese_chars: Bool?
    }

    // MARK: - Tokenization

    /// Word pieces of `text`, without `[CLS]`/`[SEP]` (special tokens written in the text are kept).
    public func tokenize(_ text: String) -> [String] {
        encodeIds(text).map { vocabulary[Int($0)] }
    }

    /// Ids of `tokens`; tokens not in the vocabulary map to ``unkTokenId``.
    public func convertTokensToIds(_ tokens: [String]) -> [Int32] {
        tokens.map { wordPiece.vocab[VocabKey($0)] ?? unkTokenId }
    }

    /// Tokens of `ids` (out-of-range ids give `[UNK]`).
    public func convertIdsToTokens(_ ids: [Int32]) -> [String] {
        ids.map { $0 >= 0 && Int($0) < vocabulary.count ? vocabulary[Int($0)] : vocabulary[Int(unkTokenId)] }
    }

    /// Word-piece ids of `text` without `[CLS]`/`[SEP]` (special and added tokens in the text
    /// get their own ids; see ``segments(of:)``).
    public func encodeIds(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        let scalars = Array(text.unicodeScalars)
        ids.reserveCapacity(scalars.count / 3 + 4)
        for segment in segments(of: scalars) {
            switch segment {
            case .token(let id, _, _): ids.append(id)
            case .text(let start, let end): appendWordPieces(scalars[start..<end], into: &ids)
            }
        }
        return ids
    }

    private func appendWordPieces(_ segment: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        guard !segment.isEmpty else { return }
        basic.forEachPreToken(in: segment) { piece in
            wordPiece.encode(piece, into: &ids)
        }
    }

    // MARK: - Encoding

    /// [CLS] a [SEP] (b [SEP]); token type 0 for the first segment incl. its [CLS]/[SEP], 1 for the second; no padding.
    ///
    /// `maxLength`: truncation with HF's "longest_first" strategy so that the total including the
    /// special tokens is ≤ `maxLength` (tokens are removed from the end of the sequences).
    ///
    /// The truncation is exactly that of the fast tokenizer (checked against `tokenizers` 0.23,
    /// `truncate_encodings` with `LongestFirst`): with `m = maxLength − specials` (2 for one sequence, 3 for a pair) and the
    /// lengths `n1 ≤ n2` of the shorter/longer sequence, the longer one is cut to `max(n1, m − n1)`;
    /// if that is still too long both are cut, the shorter to `m / 2` and the longer to
    /// `m / 2 + m % 2` (so for equal lengths the SECOND sequence keeps the extra token). The python
    /// "slow" tokenizer instead removes one token at a time from the longer sequence (the second on ties),
    /// which can give a different split, e.g. 5 + 4 instead of 4 + 5. As in HF, when `maxLength` is
    /// smaller than the number of special tokens nothing is truncated.
    public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil) -> TokenizerEncoding {
        var a = encodeIds(text)
        var b = pair.map { encodeIds($0) }
        if let maxLength {
            let (la, lb) = Self.truncatedLengths(a.count, b?.count, maxLength: maxLength)
            if la < a.count { a.removeSubrange(la...) }
            if let lb, let count = b?.count, lb < count { b?.removeSubrange(lb...) }
        }
        var ids: [Int32] = []
        ids.reserveCapacity(a.count + (b?.count ?? 0) + 3)
        ids.append(clsTokenId)
        ids.append(contentsOf: a)
        ids.append(sepTokenId)
        var types = [Int32](repeating: 0, count: ids.count)
        if let b {
            ids.append(contentsOf: b)
            ids.append(sepTokenId)
            types.append(contentsOf: repeatElement(1, count: b.count + 1))
        }
        return TokenizerEncoding(
            inputIds: ids, tokenTypeIds: types,
            attentionMask: [Int32](repeating: 1, count: ids.count))
    }

    /// Lengths (without specials) after HF fast "longest_first" truncation; see ``encode(_:pair:maxLength:)``.
    static func truncatedLengths(_ lengthA: Int, _ lengthB: Int?, maxLength: Int) -> (Int, Int?) {
        let specials = lengthB == nil ? 2 : 3
        // HF: `max_length - n_added_tokens` is only applied when it does not underflow; otherwise the
        // encodings are left untouched.
        guard maxLength >= specials else { return (lengthA, lengthB) }
        let limit = maxLength - specials
        guard let lengthB else { return (min(lengthA, limit), nil) }
        if limit == 0 { return (0, 0) }
        if lengthA + lengthB <= limit { return (lengthA, lengthB) }
        var n1 = lengthA
        var n2 = lengthB
        let swap = n1 > n2
        if swap { Swift.swap(&n1, &n2) }
        if n1 > limit {
            n2 = n1
        } else {
            n2 = max(n1, limit - n1)
        }
        if n1 + n2 > limit {
            n1 = limit / 2
            n2 = n1 + limit % 2
        }
        if swap { Swift.swap(&n1, &n2) }
        return (min(lengthA, n1), min(lengthB, n2))
    }
}

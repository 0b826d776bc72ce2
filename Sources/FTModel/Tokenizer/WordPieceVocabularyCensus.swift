import Foundation

/// How much of a corpus a WordPiece vocabulary covers: word pieces and the characters (Unicode
/// scalars after the tokenizer's normalization, whitespace not counted) of the words that became
/// `[UNK]` (WordPiece turns a whole word it cannot split into one `[UNK]`).
public struct WordPieceCoverage: Sendable, Equatable {
    /// Word pieces produced (special and added tokens in the text included).
    public var pieces = 0
    /// Of those, `[UNK]`.
    public var unknownPieces = 0
    /// Characters of the normalized words (and of the added tokens matched).
    public var characters = 0
    /// Characters inside words that became `[UNK]`.
    public var unknownCharacters = 0

    public init() {}

    /// `unknownPieces / pieces` (0 for an empty corpus).
    public var unknownPieceRate: Double { pieces == 0 ? 0 : Double(unknownPieces) / Double(pieces) }
    /// `unknownCharacters / characters` (0 for an empty corpus).
    public var unknownCharacterRate: Double { characters == 0 ? 0 : Double(unknownCharacters) / Double(characters) }
}

/// Counts, over a corpus, what a BERT WordPiece vocabulary lacks (`fttrain extend-vocab`).
///
/// Text is cut as the tokenizer cuts it (special and added tokens, normalization, BERT's
/// pre-tokenizer: whitespace, punctuation, every CJK ideograph a word of its own). For each word
/// that WordPiece turns into `[UNK]`, every character missing from the vocabulary is counted as
/// the entry WordPiece would need: the character itself at the start of a word, `##` + the
/// character inside one. With all of a word's entries in the vocabulary WordPiece can always split
/// it (character by character at worst), so adding them leaves no `[UNK]` but words longer than
/// `max_input_chars_per_word` (100). A CJK character is always a whole word, so it needs only itself.
///
/// With `collectWords`, the whitespace-separated stretches of the raw text (or the given words of a
/// pre-split corpus) of 2 to ``maximumWordLength`` characters are counted too, as candidate
/// multi-character words (pre-segmented text, e.g. the People's Daily's or jieba's output).
public struct WordPieceVocabularyCensus: Sendable {
    /// Longest candidate word, in characters.
    public static let maximumWordLength = 8

    /// The tokenizer whose vocabulary is measured.
    public let tokenizer: BertTokenizer
    /// Whether candidate words are counted.
    public let collectWords: Bool
    /// Coverage of the corpus by `tokenizer`.
    public private(set) var coverage = WordPieceCoverage()
    /// Missing vocabulary entries (`"字"` or `"##字"`) and how often a word needed them.
    public private(set) var missing: [String: Int] = [:]
    /// The missing entries in the order they were first met.
    public private(set) var missingOrder: [String] = []
    /// Candidate words and their counts (only with `collectWords`).
    public private(set) var words: [String: Int] = [:]
    /// The candidate words in the order they were first met.
    public private(set) var wordOrder: [String] = []

    public init(tokenizer: BertTokenizer, collectWords: Bool = false) {
        self.tokenizer = tokenizer
        self.collectWords = collectWords
    }

    /// Counts one text (a line, a CSV or JSONL `text`).
    public mutating func add(text: String) {
        let scalars = Array(text.unicodeScalars)
        for segment in tokenizer.segments(of: scalars) {
            switch segment {
            case .token(_, let start, let end):
                coverage.pieces += 1
                coverage.characters += end - start
            case .text(let start, let end):
                tokenizer.basic.forEachPreToken(in: scalars[start..<end]) { word in count(word) }
            }
        }
        if collectWords {
            for chunk in text.split(whereSeparator: { $0.isWhitespace }) { countWord(String(chunk)) }
        }
    }

    /// Counts a pre-split text (JSONL `tokens`): each word tokenized on its own, as
    /// `is_split_into_words=True` does.
    public mutating func add(words list: [String]) {
        for word in list {
            let scalars = Array(word.unicodeScalars)
            for segment in tokenizer.segments(of: scalars) {
                switch segment {
                case .token(_, let start, let end):
                    coverage.pieces += 1
                    coverage.characters += end - start
                case .text(let start, let end):
                    tokenizer.basic.forEachPreToken(in: scalars[start..<end]) { piece in count(piece) }
                }
            }
            if collectWords { countWord(word) }
        }
    }

    private mutating func count(_ word: ArraySlice<Unicode.Scalar>) {
        var ids: [Int32] = []
        tokenizer.wordPiece.encode(word, into: &ids)
        coverage.pieces += ids.count
        coverage.characters += word.count
        guard ids.count == 1, ids[0] == tokenizer.unkTokenId else { return }
        coverage.unknownPieces += 1
        coverage.unknownCharacters += word.count
        for (offset, scalar) in word.enumerated() {
            let character = VocabKey(String(String.UnicodeScalarView([scalar])))
            let table = offset == 0 ? tokenizer.wordPiece.vocab : tokenizer.wordPiece.continuation
            guard table[character] == nil else { continue }
            let entry = (offset == 0 ? "" : WordPiece.continuationPrefix) + character.string
            if missing[entry] == nil { missingOrder.append(entry) }
            missing[entry, default: 0] += 1
        }
    }

    private mutating func countWord(_ word: String) {
        let length = word.unicodeScalars.count
        guard length >= 2 && length <= Self.maximumWordLength else { return }
        if words[word] == nil { wordOrder.append(word) }
        words[word, default: 0] += 1
    }
}

extension BertTokenizer {
    /// Coverage of `texts` by this tokenizer (see ``WordPieceCoverage``).
    public func coverage(of texts: [String]) -> WordPieceCoverage {
        var census = WordPieceVocabularyCensus(tokenizer: self)
        for text in texts { census.add(text: text) }
        return census.coverage
    }

    /// The tokenizer with `entries` appended to its WordPiece vocabulary (`vocab.txt`), ids
    /// `wordPieceVocabularySize ..<` in order — ordinary vocabulary entries that WordPiece matches
    /// (`"字"`, `"##字"`), not added tokens. Added tokens the tokenizer has keep their ids.
    /// - Throws: ``WordPieceAddedTokenError`` when an entry is empty or already in the vocabulary, or
    ///   when added tokens already hold the ids after the vocabulary (appending would move them).
    public func appendingVocabulary(_ entries: [String], source: String) throws -> BertTokenizer {
        if let moved = addedTokens.first(where: { Int($0.id) >= wordPieceVocabularySize }) {
            throw WordPieceAddedTokenError.unsupported(
                "the added token \"\(moved.content)\" holds id \(moved.id), after the vocabulary: entries appended to vocab.txt would move it",
                source: source)
        }
        var vocabulary = Array(self.vocabulary.prefix(wordPieceVocabularySize))
        var seen = Set(vocabulary.map(VocabKey.init))
        for (index, entry) in entries.enumerated() {
            guard !entry.isEmpty && entry != WordPiece.continuationPrefix else {
                throw WordPieceAddedTokenError.emptyToken(index: index, source: source)
            }
            guard seen.insert(VocabKey(entry)).inserted else {
                if let id = wordPiece.vocab[VocabKey(entry)] {
                    throw WordPieceAddedTokenError.unsupported("\"\(entry)\" is already in the vocabulary (id \(id))", source: source)
                }
                throw WordPieceAddedTokenError.duplicateToken(entry, source: source)
            }
            vocabulary.append(entry)
        }
        return try BertTokenizer(
            vocabulary: vocabulary, doLowerCase: doLowerCase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChineseChars, addedTokens: addedTokens, source: source)
    }
}

import Foundation

/// Greedy longest-match-first WordPiece, as Hugging Face's `WordPiece` model
/// (`continuing_subword_prefix = "##"`, `max_input_chars_per_word = 100`).
///
/// For a word, repeatedly take the longest vocabulary entry that is a prefix of the rest of the word
/// (written with the `##` prefix when it does not start the word). If at some point nothing matches,
/// the whole word becomes `[UNK]`; a word of more than `maxInputCharsPerWord` Unicode scalars (code
/// points, as HF counts `chars()`) becomes `[UNK]` without trying.
struct WordPiece: Sendable {
    /// Word-initial pieces: token → id.
    let vocab: [VocabKey: Int32]
    /// Continuation pieces keyed WITHOUT their `##` prefix: "aff" → id of "##aff".
    let continuation: [VocabKey: Int32]
    let unkId: Int32
    let maxInputCharsPerWord: Int
    /// Longest vocabulary entry in scalars (`##` excluded for continuations): no longer candidate can
    /// match, so the search starts there instead of at the end of the word. Same result as HF.
    let maxPieceLength: Int

    static let continuationPrefix = "##"

    init(vocab: [VocabKey: Int32], unkId: Int32, maxInputCharsPerWord: Int = 100) {
        self.vocab = vocab
        self.unkId = unkId
        self.maxInputCharsPerWord = maxInputCharsPerWord
        var cont: [VocabKey: Int32] = [:]
        var maxLen = 1
        for (key, id) in vocab {
            let token = key.string
            let n = token.unicodeScalars.count
            // Compare bytes, not Characters: in "##ि" the second "#" and the combining vowel sign form
            // one grapheme cluster, so `String.hasPrefix("##")` would be false.
            if token.utf8.starts(with: Self.continuationPrefix.utf8) {
                let rest = String(token.unicodeScalars.dropFirst(2))
                cont[VocabKey(rest)] = id
            }
            maxLen = max(maxLen, n)
        }
        self.continuation = cont
        self.maxPieceLength = maxLen
    }

    /// Appends the ids of the word pieces of `word` (a pre-token, already normalized) to `ids`.
    func encode(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        guard !word.isEmpty else { return }
        if word.count > maxInputCharsPerWord {
            ids.append(unkId)
            return
        }
        let mark = ids.count
        var start = word.startIndex
        let wordEnd = word.endIndex
        var view = String.UnicodeScalarView()
        while start < wordEnd {
            var end = min(wordEnd, start + maxPieceLength)
            var found: Int32? = nil
            let table = start == word.startIndex ? vocab : continuation
            while start < end {
                view.removeAll(keepingCapacity: true)
                view.append(contentsOf: word[start..<end])
                if let id = table[VocabKey(String(view))] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(mark...)
                ids.append(unkId)
                return
            }
            ids.append(id)
            start = end
        }
    }

    /// Reads a `vocab.txt`: one token per line, the id being the 0-based line number. Lines are split on
    /// `\n` with a trailing `\r` removed; a final empty line (file ending with a newline) is not a token.
    /// Like both HF implementations, a duplicated token maps to its last line.
    static func readVocabularyFile(_ url: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TokenizerError.vocabularyFileMissing(url)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(url, reason: "\(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(url, reason: "not valid UTF-8")
        }
        // Split on "\n" at the byte level (a String split would treat "\r\n" as one Character).
        var tokens: [String] = []
        tokens.reserveCapacity(32_000)
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var l = line[...]
            if l.last == UInt8(ascii: "\r") { l = l.dropLast() }
            tokens.append(String(decoding: l, as: UTF8.self))
        }
        if tokens.last == "" { tokens.removeLast() }
        if tokens.isEmpty { throw TokenizerError.emptyVocabulary(source: url.path) }
        return tokens
    }
}

/// A dictionary key comparing and hashing a string by its exact UTF-8 bytes.
///
/// Swift's `String` equality and hashing use canonical equivalence ("é" == "e\u{301}"), whereas Hugging
/// Face looks tokens up by their exact code points; a vocabulary may contain both forms as distinct tokens.
struct VocabKey: Hashable, Sendable {
    let string: String

    init(_ string: String) {
        var s = string
        s.makeContiguousUTF8()
        self.string = s
    }

    static func == (lhs: VocabKey, rhs: VocabKey) -> Bool {
        lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil {
            for b in string.utf8 { hasher.combine(b) }
        }
    }
}

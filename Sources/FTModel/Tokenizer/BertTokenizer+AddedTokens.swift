import Foundation

/// A stretch of raw text: a special or added token found in it, or text for the pre-tokenizer
/// and WordPiece. Offsets are Unicode-scalar indices `start ..< end` into the text.
enum WordPieceTextSegment: Equatable {
    case token(id: Int32, start: Int, end: Int)
    case text(start: Int, end: Int)
}

extension BertTokenizer {
    /// `text` cut as `tokenizers`' `AddedVocabulary::extract_and_normalize` cuts it: first at the
    /// tokens matched in the raw text (special tokens, added tokens that are not normalized),
    /// then each remaining stretch is normalized (``BasicTokenizer/normalizeAligned(_:)``) and cut
    /// at the normalized added tokens, each match mapped back to the raw scalars it came from.
    func segments(of scalars: [Unicode.Scalar]) -> [WordPieceTextSegment] {
        var result: [WordPieceTextSegment] = []
        func appendText(_ start: Int, _ end: Int) {
            guard start < end else { return }
            guard !normalizedMatcher.isEmpty else {
                result.append(.text(start: start, end: end))
                return
            }
            let (normalized, origins) = basic.normalizeAligned(scalars[start..<end])
            var position = start
            for m in normalizedMatcher.matches(in: normalized) {
                let from = origins[m.start], to = origins[m.end - 1] + 1
                if position < from { result.append(.text(start: position, end: from)) }
                result.append(.token(id: m.id, start: from, end: to))
                position = to
            }
            if position < end { result.append(.text(start: position, end: end)) }
        }
        var textStart = 0, i = 0
        while i < scalars.count {
            if let (length, id) = rawMatcher.match(scalars, at: i) {
                appendText(textStart, i)
                result.append(.token(id: id, start: i, end: i + length))
                i += length
                textStart = i
            } else {
                i += 1
            }
        }
        appendText(textStart, scalars.count)
        return result
    }

    /// The tokenizer with `tokens` added, as `tokenizer.add_tokens(tokens)` does in transformers:
    /// each new token gets the next id after the vocabulary (and the tokens added before), is not
    /// special and is matched in the normalized text (``WordPieceAddedToken``). A token the vocabulary
    /// already has keeps its id — no new embedding row — but is matched as an added token from
    /// then on, as transformers does; it is returned in `known` for the log. A token already added
    /// is left alone (also in `known`).
    /// - Throws: ``WordPieceAddedTokenError`` for an empty token or one listed twice, naming `source`.
    public func adding(_ tokens: [String], source: String) throws -> (tokenizer: BertTokenizer, known: [(token: String, id: Int32)]) {
        var seen = Set<VocabKey>(), known: [(token: String, id: Int32)] = []
        var added = addedTokens
        var next = Int32(vocabulary.count)
        for (index, token) in tokens.enumerated() {
            guard !token.unicodeScalars.allSatisfy({ BasicTokenizer.isWhitespace($0.value) || $0.value == 0x20 }) else {
                throw WordPieceAddedTokenError.emptyToken(index: index, source: source)
            }
            guard seen.insert(VocabKey(token)).inserted else { throw WordPieceAddedTokenError.duplicateToken(token, source: source) }
            if let existing = addedTokens.first(where: { VocabKey($0.content) == VocabKey(token) }) {
                known.append((token, existing.id))
                continue
            }
            if let id = wordPiece.vocab[VocabKey(token)] {
                known.append((token, id))
                added.append(WordPieceAddedToken(content: token, id: id))
                continue
            }
            added.append(WordPieceAddedToken(content: token, id: next))
            next += 1
        }
        let tokenizer = try BertTokenizer(
            vocabulary: Array(vocabulary.prefix(wordPieceVocabularySize)), doLowerCase: doLowerCase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChineseChars, addedTokens: added, source: source)
        return (tokenizer, known)
    }

    /// Reads an `add_tokens` file: one token per line, as written (a trailing `\r` removed; blank
    /// lines are skipped, so a file may end with a newline).
    public static func readTokenList(path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadableFile(URL(fileURLWithPath: path), reason: "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(URL(fileURLWithPath: path), reason: "not valid UTF-8")
        }
        var tokens: [String] = []
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var l: Substring.UTF8View.SubSequence = line
            if l.last == UInt8(ascii: "\r") { l = l.dropLast() }
            let token = String(decoding: l, as: UTF8.self)
            if !token.unicodeScalars.allSatisfy({ BasicTokenizer.isWhitespace($0.value) || $0.value == 0x20 }) { tokens.append(token) }
        }
        return tokens
    }
}

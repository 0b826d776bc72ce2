/// A sequence of words encoded for token classification: the encoding and, for every token, the
/// index of the word it came from (nil for `[CLS]` and `[SEP]`), as a fast tokenizer's `word_ids()`.
public struct WordEncoding: Sendable, Equatable {
    public var encoding: TokenizerEncoding
    public var wordIds: [Int?]
}

/// A word of a raw text with its position: Unicode-scalar offsets `start ..< end` into the text
/// (Python's `str` indices, what Hugging Face's offsets count).
public struct WordSpan: Sendable, Equatable {
    public var text: String
    public var start: Int
    public var end: Int
}

extension BertTokenizer {
    /// `[CLS] pieces(word₀) pieces(word₁) … [SEP]`, each word tokenized on its own, as a fast
    /// tokenizer does with `is_split_into_words=True`; truncated to `maxLength` tokens (the last
    /// words' pieces dropped). A word with no pieces (only removed characters) has no token.
    public func encodeWords(_ words: [String], maxLength: Int? = nil) -> WordEncoding {
        var ids: [Int32] = [clsTokenId]
        var wordIds: [Int?] = [nil]
        let budget = (maxLength.map { max($0, 2) } ?? Int.max) - 1
        outer: for (w, word) in words.enumerated() {
            for id in encodeIds(word) {
                guard ids.count < budget else { break outer }
                ids.append(id)
                wordIds.append(w)
            }
        }
        ids.append(sepTokenId)
        wordIds.append(nil)
        return WordEncoding(
            encoding: TokenizerEncoding(
                inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: ids.count), attentionMask: [Int32](repeating: 1, count: ids.count)),
            wordIds: wordIds)
    }

    /// The words of a raw text where BERT's pre-tokenizer splits it — at whitespace, around every
    /// CJK character (each its own word when `tokenize_chinese_chars`) and every punctuation
    /// character — with their offsets in the text. Tokenizing the words one by one
    /// (`encodeWords`) gives the pieces of the whole text, each traceable to its characters.
    /// A special or added token found in the text is one word (as its own split in `tokenizers`).
    public func wordSpans(of text: String) -> [WordSpan] {
        let scalars = Array(text.unicodeScalars)
        var spans: [WordSpan] = []
        for segment in segments(of: scalars) {
            switch segment {
            case .token(_, let start, let end):
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[start..<end])
                spans.append(WordSpan(text: String(view), start: start, end: end))
            case .text(let start, let end):
                spans.append(contentsOf: wordSpans(in: scalars, from: start, to: end))
            }
        }
        return spans
    }

    /// The pre-tokenizer's words of `scalars[from ..< to]`, offsets into `scalars`.
    func wordSpans(in scalars: [Unicode.Scalar], from: Int, to: Int) -> [WordSpan] {
        var spans: [WordSpan] = []
        var current = String.UnicodeScalarView(), start = from
        func flush(_ end: Int) {
            if !current.isEmpty { spans.append(WordSpan(text: String(current), start: start, end: end)) }
            current = String.UnicodeScalarView()
        }
        for i in from..<to {
            let s = scalars[i], v = s.value
            if BasicTokenizer.isWhitespace(v) || v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D {
                flush(i)
                continue
            }
            if (tokenizeChineseChars && BasicTokenizer.isChineseCharacter(v)) || BasicTokenizer.isPunctuation(v) {
                flush(i)
                spans.append(WordSpan(text: String(s), start: i, end: i + 1))
                continue
            }
            if current.isEmpty { start = i }
            current.append(s)
        }
        flush(to)
        return spans
    }
}

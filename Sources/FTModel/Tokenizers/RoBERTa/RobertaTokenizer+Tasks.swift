import Foundation

/// What the encoder tasks need beyond `encode` (``EncoderTokenizer``): words with their
/// characters, words encoded one by one, and RoBERTa's special-token layout.
extension RobertaTokenizer {
    /// `unkTokenId` (byte-level BPE spells every text, so it is rarely produced).
    public var unknownTokenId: Int32? { unkTokenId }

    /// 2 for one sequence (`<s> A </s>`), 4 for a pair (`<s> A </s></s> B </s>`).
    public func specialTokenCount(pair: Bool) -> Int { pair ? 4 : 2 }

    /// `<s> first </s>` or `<s> first </s></s> second </s>`; token types all 0 (RobertaProcessing).
    public func withSpecialTokens(_ first: [Int32], pair second: [Int32]?) -> (encoding: TokenizerEncoding, sequenceIds: [Int?]) {
        var ids: [Int32] = [clsTokenId] + first + [sepTokenId]
        var sequences: [Int?] = [nil] + [Int?](repeating: 0, count: first.count) + [nil]
        if let second {
            ids += [sepTokenId] + second + [sepTokenId]
            sequences += [nil] + [Int?](repeating: 1, count: second.count) + [nil]
        }
        let encoding = TokenizerEncoding(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: ids.count), attentionMask: [Int32](repeating: 1, count: ids.count))
        return (encoding, sequences)
    }

    /// The words of GPT-2's pre-tokenizer regex (` word`, ` 123`, `,`, `'s`; an added token is
    /// one word), each without the spaces around it; stretches of spaces are no word. Encoding
    /// them with ``encodeWords(_:maxLength:)`` gives each word the prefix space it has in running
    /// text (punctuation after a word gets one too, as in training data given as words).
    public func wordSpans(of text: String) -> [WordSpan] {
        let scalars = Array(text.unicodeScalars)
        var spans: [WordSpan] = []
        func add(_ range: Range<Int>) {
            var lo = range.lowerBound, hi = range.upperBound
            while lo < hi && scalars[lo].properties.isWhitespace { lo += 1 }
            while hi > lo && scalars[hi - 1].properties.isWhitespace { hi -= 1 }
            guard lo < hi else { return }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[lo..<hi])
            spans.append(WordSpan(text: String(view), start: lo, end: hi))
        }
        addedTokenMatcher.split(
            scalars,
            text: { range in
                BPEPreTokenizer.byteLevel.forEachWord(in: scalars, range: range) { word in add(word) }
            },
            token: { _, range in add(range) })
        return spans
    }

    /// `<s> pieces(word₀) pieces(word₁) … </s>`, each word tokenized on its own with a prefix
    /// space, as `RobertaTokenizerFast(add_prefix_space=True)` encodes `is_split_into_words=True`
    /// input (run_ner's setting for RoBERTa), whatever `addPrefixSpace` says; truncated to
    /// `maxLength` tokens (the last words' pieces dropped).
    public func encodeWords(_ words: [String], maxLength: Int? = nil) -> WordEncoding {
        let budget = (maxLength.map { max($0, 2) } ?? Int.max) - 2
        var pieces: [Int32] = [], wordIds: [Int?] = [nil]
        outer: for (w, word) in words.enumerated() {
            for id in self.pieces(of: word, prefixSpace: true).ids {
                guard pieces.count < budget else { break outer }
                pieces.append(id)
                wordIds.append(w)
            }
        }
        wordIds.append(nil)
        return WordEncoding(encoding: withSpecialTokens(pieces, pair: nil).encoding, wordIds: wordIds)
    }
}

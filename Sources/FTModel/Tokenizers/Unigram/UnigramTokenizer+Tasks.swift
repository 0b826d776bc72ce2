import Foundation

/// What the encoder tasks need beyond `encode` (the `EncoderTokenizer` requirements of token
/// classification, question answering, predict and serve): words with their characters, words
/// encoded one by one, and the post-processor's layout of piece ids.
extension UnigramTokenizer {
    /// The model's `unk_id` (`<unk>`, 3 for XLM-R).
    public var unknownTokenId: Int32? { unkTokenId }

    /// Special tokens the template adds (`num_special_tokens_to_add`): XLM-R 2 for one sequence,
    /// 4 for a pair.
    public func specialTokenCount(pair: Bool) -> Int { template.addedCount(pair: pair) }

    /// The template's layout of piece ids `first` (and `second`), as the post-processor lays out
    /// already truncated encodings: XLM-R `<s> first </s>` / `<s> first </s></s> second </s>`,
    /// token types from the template, attention mask all ones; `sequenceIds[k]` 0, 1 or nil (a
    /// special token), as `sequence_ids()`.
    public func withSpecialTokens(_ first: [Int32], pair second: [Int32]?) -> (encoding: TokenizerEncoding, sequenceIds: [Int?]) {
        let a = OffsetEncoding(ids: first, starts: [Int](repeating: 0, count: first.count), ends: [Int](repeating: 0, count: first.count))
        let b = second.map { OffsetEncoding(ids: $0, starts: [Int](repeating: 0, count: $0.count), ends: [Int](repeating: 0, count: $0.count)) }
        let laid = layout(a, b)
        return (laid.encoding, laid.sequenceIds)
    }

    /// The words of a raw text where `Metaspace` / `WhitespaceSplit` cut it: runs of characters
    /// between whitespace (an added token found in the text is one word), each with its
    /// characters `start ..< end`. ``encodeWords(_:maxLength:)`` of their texts gives every word
    /// the `▁` it has in running text.
    public func wordSpans(of text: String) -> [WordSpan] {
        let scalars = Array(text.unicodeScalars)
        var spans: [WordSpan] = []
        func add(_ range: Range<Int>) {
            var lo = range.lowerBound, hi = range.upperBound
            while lo < hi && scalars[lo].properties.isWhitespace { lo += 1 }
            while hi > lo && scalars[hi - 1].properties.isWhitespace { hi -= 1 }
            guard lo < hi else { return }
            spans.append(WordSpan(text: String(String.UnicodeScalarView(scalars[lo..<hi])), start: lo, end: hi))
        }
        addedTokenMatcher.split(
            scalars,
            text: { range in
                var start = range.lowerBound
                for i in range where scalars[i].properties.isWhitespace {
                    add(start..<i)
                    start = i + 1
                }
                add(start..<range.upperBound)
            },
            token: { _, range in add(range) })
        return spans
    }

    /// The template's single-sequence special tokens around the pieces of each word, each word
    /// tokenized as its own text (as the fast tokenizer encodes `is_split_into_words=True` input:
    /// with `Metaspace`, every word gets its `▁`); `wordIds[k]` the word of token k, nil for a
    /// special token (`word_ids()`). With `maxLength`, the last pieces are dropped so that at most
    /// `maxLength` tokens remain.
    public func encodeWords(_ words: [String], maxLength: Int? = nil) -> WordEncoding {
        let specials = specialTokenCount(pair: false)
        let budget = (maxLength.map { max($0, specials) } ?? Int.max) - specials
        var pieces: [Int32] = [], owners: [Int] = []
        outer: for (w, word) in words.enumerated() {
            for id in encodeIds(word) {
                guard pieces.count < budget else { break outer }
                pieces.append(id)
                owners.append(w)
            }
        }
        let laid = withSpecialTokens(pieces, pair: nil)
        var next = 0
        let wordIds: [Int?] = laid.sequenceIds.map { (sequence: Int?) -> Int? in
            guard sequence != nil else { return nil }
            defer { next += 1 }
            return owners[next]
        }
        return WordEncoding(encoding: laid.encoding, wordIds: wordIds)
    }
}

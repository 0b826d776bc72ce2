import Foundation

/// The Unigram (SentencePiece) tokenizer of XLM-RoBERTa and other SentencePiece models, as Hugging
/// Face `tokenizers` runs a `tokenizer.json` with a `Unigram` model: added tokens split out of the
/// raw text first (leftmost, longest, with `lstrip`/`rstrip`); each other stretch normalised
/// (``TextNormalizer``: SentencePiece's `Precompiled` charsmap, `Replace`, `Strip`, ...),
/// pre-tokenized (``SentencePiecePreTokenizer``: `Metaspace`, `WhitespaceSplit`) and segmented by
/// the Unigram model (``UnigramModel``: Viterbi); then the post-processor's template
/// (``PostProcessorTemplate``: XLM-R's `<s> A </s>` and `<s> A </s></s> B </s>`) with its token
/// types, after `longest_first` truncation.
///
/// Offsets are Unicode-scalar ranges of the input (Python `str` indices, as `offset_mapping`),
/// carried through the normaliser's alignments: a character the charsmap rewrote maps back to the
/// input characters it came from, a `▁` to the space it replaced (or, put before the text, to the
/// first character); special tokens span (0, 0).
public struct UnigramTokenizer: EncoderTokenizer {
    /// Token strings by id (pieces, then added tokens beyond them). [vocabularySize]
    public let vocabulary: [String]
    public let addedTokens: [BPEAddedToken]
    public let padTokenId: Int32
    public let unkTokenId: Int32?
    /// The first special token of a single sequence (`<s>`: the classification head reads it).
    public let clsTokenId: Int32
    /// The last special token of a single sequence (`</s>`).
    public let sepTokenId: Int32
    /// `<mask>` (`mask_token` of tokenizer_config.json), when the vocabulary has it.
    public let maskTokenId: Int32?
    public let template: PostProcessorTemplate

    let model: UnigramModel
    let normalizer: TextNormalizer?
    let preTokenizer: SentencePiecePreTokenizer
    let addedTokenMatcher: AddedTokenMatcher

    public var vocabularySize: Int { vocabulary.count }

    init(
        model: UnigramModel, addedTokens: [BPEAddedToken], normalizer: TextNormalizer?, preTokenizer: SentencePiecePreTokenizer,
        template: PostProcessorTemplate, padTokenId: Int32, maskTokenId: Int32?
    ) {
        var vocabulary = model.pieces
        for t in addedTokens where t.id >= 0 {
            if Int(t.id) >= vocabulary.count { vocabulary += [String](repeating: "", count: Int(t.id) + 1 - vocabulary.count) }
            if vocabulary[Int(t.id)].isEmpty { vocabulary[Int(t.id)] = t.content }
        }
        self.vocabulary = vocabulary
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.template = template
        self.padTokenId = padTokenId
        self.maskTokenId = maskTokenId
        unkTokenId = model.unkId
        let specials = template.single.compactMap { piece -> [Int32]? in
            if case .special(let ids, _) = piece { return ids }
            return nil
        }.flatMap { $0 }
        clsTokenId = specials.first ?? -1
        sepTokenId = specials.last ?? -1
        addedTokenMatcher = AddedTokenMatcher(addedTokens)
    }

    // MARK: - Encoding

    /// The tokens of `text` without special tokens, with their character offsets (trimmed when the
    /// post-processor trims them).
    public func encodeWithOffsets(_ text: String) -> OffsetEncoding {
        let scalars = Array(text.unicodeScalars)
        var result = OffsetEncoding(ids: [], starts: [], ends: [])
        var values: [[Unicode.Scalar]] = []
        var tokens: [(id: Int32, range: Range<Int>, value: [Unicode.Scalar])] = []
        addedTokenMatcher.split(
            scalars,
            text: { range in
                var piece = AlignedText(scalars[range], offset: range.lowerBound)
                normalizer?.normalize(&piece)
                guard !piece.isEmpty else { return }
                for split in preTokenizer.split([piece]) {
                    tokens.removeAll(keepingCapacity: true)
                    model.tokenize(split.scalars, into: &tokens)
                    for t in tokens {
                        let original = split.originalRange(t.range)
                        result.ids.append(t.id)
                        result.starts.append(original.lowerBound)
                        result.ends.append(original.upperBound)
                        values.append(t.value)
                    }
                }
            },
            token: { id, range in
                result.ids.append(id)
                result.starts.append(range.lowerBound)
                result.ends.append(range.upperBound)
                // The token's text is what it matched, with the spaces `lstrip`/`rstrip` took
                // (trimming then leaves them out of its offsets, as `tokenizers` does).
                values.append(Array(scalars[range]))
            })
        if template.trimOffsets { trim(&result, values: values) }
        return result
    }

    /// `tokenizers`' `process_offsets` (RobertaProcessing's `trim_offsets`): a token's leading
    /// spaces (`Ġ` or whitespace) move its start right and its trailing ones its end left, except a
    /// single leading space of the first token with `add_prefix_space`.
    private func trim(_ e: inout OffsetEncoding, values: [[Unicode.Scalar]]) {
        let space = ByteLevelAlphabet.characters[Int(UInt8(ascii: " "))]
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == space || c.properties.isWhitespace }
        for i in 0..<e.count {
            let token = values[i]
            var leading = token.prefix { isSpace($0) }.count
            let trailing = token.reversed().prefix { isSpace($0) }.count
            if leading > 0 {
                if (i == 0 || e.starts[i] == 0) && template.addPrefixSpace && leading == 1 { leading = 0 }
                e.starts[i] = min(e.starts[i] + leading, e.ends[i])
            }
            if trailing > 0 && e.ends[i] >= trailing { e.ends[i] = max(e.ends[i] - trailing, e.starts[i]) }
        }
    }

    /// Token ids of `text` without special tokens.
    public func encodeIds(_ text: String) -> [Int32] { encodeWithOffsets(text).ids }

    /// The template's layout of `text` (and `pair`), unpadded; with `maxLength`, truncated first
    /// as the fast tokenizer's `longest_first` does, leaving room for the template's special tokens.
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
        var sequences = [encodeWithOffsets(text)]
        if let pair { sequences.append(encodeWithOffsets(pair)) }
        if let maxLength {
            // `truncatedLengths` leaves room for BERT's 2 (single) or 3 (pair) special tokens.
            let added = template.addedCount(pair: pair != nil)
            let (la, lb) = BertTokenizer.truncatedLengths(
                sequences[0].count, pair == nil ? nil : sequences[1].count, maxLength: maxLength - added + (pair == nil ? 2 : 3))
            sequences[0].keepFirst(la)
            if let lb { sequences[1].keepFirst(lb) }
        }
        return layout(sequences[0], pair == nil ? nil : sequences[1])
    }

    /// The template around `a` (and `b`): ids, token types, offsets (0, 0 for special tokens) and
    /// sequence ids.
    func layout(_ a: OffsetEncoding, _ b: OffsetEncoding?) -> (encoding: TokenizerEncoding, starts: [Int], ends: [Int], sequenceIds: [Int?]) {
        var ids: [Int32] = [], types: [Int32] = [], starts: [Int] = [], ends: [Int] = [], sequenceIds: [Int?] = []
        for piece in b == nil ? template.single : template.pair {
            switch piece {
            case .special(let specialIds, let typeId):
                ids += specialIds
                types += [Int32](repeating: typeId, count: specialIds.count)
                starts += [Int](repeating: 0, count: specialIds.count)
                ends += [Int](repeating: 0, count: specialIds.count)
                sequenceIds += [Int?](repeating: nil, count: specialIds.count)
            case .sequence(let k, let typeId):
                guard let e = k == 0 ? a : b else { continue }
                ids += e.ids
                types += [Int32](repeating: typeId, count: e.count)
                starts += e.starts
                ends += e.ends
                sequenceIds += [Int?](repeating: k, count: e.count)
            }
        }
        let encoding = TokenizerEncoding(inputIds: ids, tokenTypeIds: types, attentionMask: [Int32](repeating: 1, count: ids.count))
        return (encoding, starts, ends, sequenceIds)
    }

    /// The token strings of `ids` (out-of-range ids are left out).
    public func tokens(_ ids: [Int32]) -> [String] {
        ids.compactMap { $0 >= 0 && Int($0) < vocabulary.count ? vocabulary[Int($0)] : nil }
    }
}

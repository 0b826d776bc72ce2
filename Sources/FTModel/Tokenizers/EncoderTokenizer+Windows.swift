/// One window of a pair whose second text is cut into overlapping parts, as a fast tokenizer's
/// `truncation="only_second"`, `return_overflowing_tokens=True`, `stride`, `return_offsets_mapping=True`
/// gives each part (run_qa's features).
public struct PairWindow: Sendable, Equatable {
    /// The post-processed encoding: special tokens, the first text's pieces, this part of the second's.
    public var encoding: TokenizerEncoding
    /// Per token, 0 (first text), 1 (second text) or nil (special token): `sequence_ids()`.
    public var sequenceIds: [Int?]
    /// Per token, the characters `start ..< end` of its own text it covers; nil for a special token.
    public var offsets: [Range<Int>?]
    /// The second text's pieces in this window (indices into `encodeWithOffsets(second)`).
    public var secondPieces: Range<Int>
}

extension EncoderTokenizer {
    /// `first` whole and `second` cut into windows of `maxLength − count(first) − specialTokenCount(pair: true)`
    /// pieces starting every `that − stride` pieces, until a window reaches the end of `second`
    /// (the tokenizers library's overflow for `only_second`; one window when `second` fits).
    /// - Precondition: the room left for `second` is positive, and `stride` is below it unless
    ///   `second` fits in one window (callers check it to name their input; see
    ///   ``pairWindowRoom(firstPieces:maxLength:)``).
    public func encodePairWindows(_ first: String, _ second: String, maxLength: Int, stride: Int) -> [PairWindow] {
        let a = encodeWithOffsets(first), b = encodeWithOffsets(second)
        let room = pairWindowRoom(firstPieces: a.count, maxLength: maxLength)
        precondition(room > 0 && stride >= 0 && (stride < room || b.count <= room), "pair window: no room for the second text")
        var windows: [PairWindow] = []
        var start = 0
        repeat {
            let stop = min(start + room, b.count)
            let (encoding, sequenceIds) = withSpecialTokens(a.ids, pair: Array(b.ids[start..<stop]))
            var offsets = [Range<Int>?](repeating: nil, count: encoding.count)
            var k = [0, start]
            for (t, sequence) in sequenceIds.enumerated() {
                guard let sequence else { continue }
                let e = sequence == 0 ? a : b
                offsets[t] = e.starts[k[sequence]]..<e.ends[k[sequence]]
                k[sequence] += 1
            }
            windows.append(PairWindow(encoding: encoding, sequenceIds: sequenceIds, offsets: offsets, secondPieces: start..<stop))
            if stop == b.count { break }
            start += room - stride
        } while true
        return windows
    }

    /// The pieces of a pair's second text one window holds beside `firstPieces` pieces of the
    /// first within `maxLength` tokens (≤ 0: none).
    public func pairWindowRoom(firstPieces: Int, maxLength: Int) -> Int {
        maxLength - firstPieces - specialTokenCount(pair: true)
    }

    /// Pads every encoding to the longest in the batch (or to `padTo` if given) with `padTokenId`,
    /// type 0, mask 0; returns flat row-major (batch, T) arrays and T.
    ///
    /// Nothing is truncated: if `padTo` is smaller than the longest encoding, T is the longest length.
    public func padBatch(
        _ encodings: [TokenizerEncoding], padTo: Int? = nil
    )
        -> (inputIds: [Int32], tokenTypeIds: [Int32], attentionMask: [Int32], sequenceLength: Int)
    {
        let longest = encodings.map(\.inputIds.count).max() ?? 0
        let t = max(longest, padTo ?? 0)
        var ids = [Int32](repeating: padTokenId, count: encodings.count * t)
        var types = [Int32](repeating: 0, count: encodings.count * t)
        var mask = [Int32](repeating: 0, count: encodings.count * t)
        for (row, e) in encodings.enumerated() {
            let base = row * t
            for j in 0..<e.inputIds.count {
                ids[base + j] = e.inputIds[j]
                types[base + j] = j < e.tokenTypeIds.count ? e.tokenTypeIds[j] : 0
                mask[base + j] = j < e.attentionMask.count ? e.attentionMask[j] : 1
            }
        }
        return (ids, types, mask, t)
    }
}

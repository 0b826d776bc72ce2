/// A text's word pieces with the characters each came from, as a fast tokenizer's
/// `return_offsets_mapping=True` gives them: `offsets[k]` is the Unicode-scalar range
/// `start ..< end` of piece k in the text (Python's `str` indices).
public struct OffsetEncoding: Sendable, Equatable {
    public var ids: [Int32]
    public var starts: [Int]
    public var ends: [Int]

    public var count: Int { ids.count }
}

extension BertTokenizer {
    /// The word pieces of `text` (no `[CLS]`/`[SEP]`) with their character offsets: each word of
    /// BERT's pre-tokenizer (`wordSpans`) is split into pieces, and a piece spans the characters
    /// its text (without `##`) covers in the word; `[UNK]` spans the whole word. When normalising
    /// changed the word's length (a lowercase mapping to two characters), the pieces are laid out
    /// by their normalised lengths and the last one ends at the word's end. A special or added
    /// token spans the characters it was matched on.
    public func encodeWithOffsets(_ text: String) -> OffsetEncoding {
        var result = OffsetEncoding(ids: [], starts: [], ends: [])
        let scalars = Array(text.unicodeScalars)
        for segment in segments(of: scalars) {
            guard case .text(let from, let to) = segment else {
                if case .token(let id, let start, let end) = segment {
                    result.ids.append(id)
                    result.starts.append(start)
                    result.ends.append(end)
                }
                continue
            }
            for word in wordSpans(in: scalars, from: from, to: to) {
                var ids: [Int32] = []
                basic.forEachPreToken(in: Array(word.text.unicodeScalars)[...]) { wordPiece.encode($0, into: &ids) }
                guard !ids.isEmpty else { continue }
                var position = word.start
                for (k, id) in ids.enumerated() {
                    result.ids.append(id)
                    if id == unkTokenId {
                        result.starts.append(word.start)
                        result.ends.append(word.end)
                        position = word.end
                        continue
                    }
                    var piece = vocabulary[Int(id)]
                    if k > 0 && piece.hasPrefix("##") { piece.removeFirst(2) }
                    let start = min(position, word.end)
                    let end = k == ids.count - 1 ? word.end : min(start + piece.unicodeScalars.count, word.end)
                    result.starts.append(start)
                    result.ends.append(end)
                    position = end
                }
            }
        }
        return result
    }
}

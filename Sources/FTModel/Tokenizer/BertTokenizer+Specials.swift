/// BERT's post-processor (`TemplateProcessing` `[CLS] $A [SEP] $B:1 [SEP]:1`) for ``EncoderTokenizer``.
extension BertTokenizer {
    /// `unkTokenId` (WordPiece always has `[UNK]`).
    public var unknownTokenId: Int32? { unkTokenId }

    /// 2 for one sequence (`[CLS] A [SEP]`), 3 for a pair (`[CLS] A [SEP] B [SEP]`).
    public func specialTokenCount(pair: Bool) -> Int { pair ? 3 : 2 }

    /// `[CLS] first [SEP]` (types 0) and `second [SEP]` (types 1), as ``encode(_:pair:maxLength:)``
    /// lays them out.
    public func withSpecialTokens(_ first: [Int32], pair second: [Int32]?) -> (encoding: TokenizerEncoding, sequenceIds: [Int?]) {
        var ids: [Int32] = [clsTokenId] + first + [sepTokenId]
        var types = [Int32](repeating: 0, count: ids.count)
        var sequences: [Int?] = [nil] + [Int?](repeating: 0, count: first.count) + [nil]
        if let second {
            ids += second + [sepTokenId]
            types += [Int32](repeating: 1, count: second.count + 1)
            sequences += [Int?](repeating: 1, count: second.count) + [nil]
        }
        return (TokenizerEncoding(inputIds: ids, tokenTypeIds: types, attentionMask: [Int32](repeating: 1, count: ids.count)), sequences)
    }
}

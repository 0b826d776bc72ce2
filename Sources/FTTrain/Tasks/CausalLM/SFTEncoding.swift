import FTCore
import FTModel

/// SFT examples → token ids and per-token labels (TRL's `SFTTrainer` tokenization): each segment
/// tokenized on its own and concatenated (TRL tokenizes prompt and completion apart too), BOS
/// first when the tokenizer adds one, EOS after the completion when the example asks for it;
/// truncated to `max_length`; labels = ids, −100 on the untrained segments. An example whose
/// trained tokens are all cut by the truncation is dropped and counted.
public struct SFTEncoding: Sendable {
    /// One tokenized example.
    public struct Row: Sendable, Equatable {
        /// (T) token ids.
        public var ids: [Int32]
        /// (T) targets: the id, or −100 where no loss is taken.
        public var labels: [Int32]
        /// Tokens before the first trained token: the prompt generation starts from.
        public var promptLength: Int
        /// Index of the example the row came from.
        public var example: Int
    }

    public let rows: [Row]
    /// Examples dropped because truncation left no trained token.
    public let droppedByTruncation: [SourceLocation]
    /// Examples truncated (kept, with part of their trained tokens).
    public let truncated: Int

    /// Tokenizes `examples` to at most `maxLength` tokens each.
    public init(examples: [SFTExample], tokenizer: any CausalTokenizer, maxLength: Int) {
        var rows: [Row] = []
        var dropped: [SourceLocation] = []
        var truncated = 0
        rows.reserveCapacity(examples.count)
        for (index, example) in examples.enumerated() {
            var row = Self.tokenize(example, tokenizer: tokenizer)
            row.example = index
            if row.ids.count > maxLength {
                row.ids.removeLast(row.ids.count - maxLength)
                row.labels.removeLast(row.labels.count - maxLength)
                truncated += 1
            }
            // Position 0 is predicted by nothing: a target must be at 1 or later.
            guard row.labels.dropFirst().contains(where: { $0 != NextTokenCrossEntropy.ignoreIndex }) else {
                dropped.append(example.location)
                continue
            }
            rows.append(row)
        }
        self.rows = rows
        droppedByTruncation = dropped
        self.truncated = truncated
    }

    /// The ids and labels of one example, untruncated. The prompt is every segment but the
    /// last (the completion, or the last assistant turn), BOS included.
    public static func tokenize(_ example: SFTExample, tokenizer: any CausalTokenizer) -> Row {
        var ids: [Int32] = []
        var labels: [Int32] = []
        let bos = tokenizer.addsBOS ? tokenizer.bosTokenId : nil
        if let bos {
            ids.append(bos)
            labels.append(NextTokenCrossEntropy.ignoreIndex)
        }
        var promptLength = ids.count
        for (i, segment) in example.segments.enumerated() {
            var pieceIds = tokenizer.encode(segment.text)
            if let bos, pieceIds.first == bos { pieceIds.removeFirst() }
            ids.append(contentsOf: pieceIds)
            labels.append(contentsOf: segment.trained ? pieceIds : pieceIds.map { _ in NextTokenCrossEntropy.ignoreIndex })
            if i < example.segments.count - 1 { promptLength = ids.count }
        }
        if example.appendsEOS {
            ids.append(tokenizer.eosTokenId)
            labels.append(tokenizer.eosTokenId)
        }
        return Row(ids: ids, labels: labels, promptLength: promptLength, example: 0)
    }

    /// TRL's `packing=True` (its "wrapped" strategy): every row's ids and labels concatenated in
    /// order and cut into rows of exactly `maxLength` tokens (the last one shorter), so no
    /// padding is spent. Attention crosses example boundaries inside a packed row (a token sees the
    /// examples before it in its row, as TRL's wrapped packing without position-id resets does);
    /// each example ends with EOS (or the template's end of turn), which is what the model learns
    /// to stop at. Loss targets keep their −100s.
    public static func pack(_ rows: [Row], maxLength: Int) -> [(ids: [Int32], labels: [Int32])] {
        var packed: [(ids: [Int32], labels: [Int32])] = []
        var ids: [Int32] = [], labels: [Int32] = []
        ids.reserveCapacity(maxLength)
        for row in rows {
            var offset = 0
            while offset < row.ids.count {
                let take = min(maxLength - ids.count, row.ids.count - offset)
                ids += row.ids[offset..<(offset + take)]
                labels += row.labels[offset..<(offset + take)]
                offset += take
                if ids.count == maxLength {
                    packed.append((ids, labels))
                    ids.removeAll(keepingCapacity: true)
                    labels.removeAll(keepingCapacity: true)
                }
            }
        }
        if !ids.isEmpty { packed.append((ids, labels)) }
        return packed
    }
}

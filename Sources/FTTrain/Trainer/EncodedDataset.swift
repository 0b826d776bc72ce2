import FTCore
import FTModel

/// A tokenized, labelled split: what the trainer batches. Texts are kept for error reports.
///
/// The targets are one of two kinds: one class id per example (`labels`, sequence
/// classification), or one target per token (`tokenLabels`, aligned with each encoding's ids,
/// −100 where no loss is taken: causal language modelling); the other is empty.
public struct EncodedDataset: Sendable {
    public let encodings: [TokenizerEncoding]
    /// Class ids, one per example; empty when the targets are per token.
    public let labels: [Int32]
    /// Per-token targets, one array per example as long as its encoding; empty when the targets are per example.
    public let tokenLabels: [[Int32]]
    /// Entries of `labels` per example: 1 (a class id), or L for multi-label (0/1 per label) and
    /// regression (each output's float bit pattern), row-major (N, L).
    public let targetsPerExample: Int
    /// The original texts (and pairs), for error samples and predictions.
    public let texts: [String]
    public let pairs: [String?]
    /// Where each example came from (`file:line`), or empty.
    public let sources: [String]

    public init(encodings: [TokenizerEncoding], labels: [Int32], texts: [String], pairs: [String?], sources: [String] = []) {
        precondition(encodings.count == labels.count && labels.count == texts.count && texts.count == pairs.count)
        precondition(sources.isEmpty || sources.count == texts.count)
        self.encodings = encodings
        self.labels = labels
        tokenLabels = []
        targetsPerExample = 1
        self.texts = texts
        self.pairs = pairs
        self.sources = sources
    }

    /// A split with per-token targets: `tokenLabels[i]` has one entry per token of `encodings[i]`.
    public init(encodings: [TokenizerEncoding], tokenLabels: [[Int32]], texts: [String], pairs: [String?], sources: [String] = []) {
        precondition(encodings.count == tokenLabels.count && encodings.count == texts.count && texts.count == pairs.count)
        precondition(zip(encodings, tokenLabels).allSatisfy { $0.0.count == $0.1.count })
        precondition(sources.isEmpty || sources.count == texts.count)
        self.encodings = encodings
        labels = []
        self.tokenLabels = tokenLabels
        targetsPerExample = 1
        self.texts = texts
        self.pairs = pairs
        self.sources = sources
    }

    /// A split with `width` targets per example, `labels` row-major (N, width): multi-label's
    /// multi-hot rows, regression's float bit patterns (`RegressionObjective.target`).
    public init(
        encodings: [TokenizerEncoding], labels: [Int32], targetsPerExample width: Int, texts: [String], pairs: [String?], sources: [String] = []
    ) {
        precondition(width > 0 && encodings.count * width == labels.count && encodings.count == texts.count && texts.count == pairs.count)
        precondition(sources.isEmpty || sources.count == texts.count)
        self.encodings = encodings
        self.labels = labels
        tokenLabels = []
        targetsPerExample = width
        self.texts = texts
        self.pairs = pairs
        self.sources = sources
    }

    public var count: Int { encodings.count }
    /// Whether the targets are per token (`tokenLabels`) rather than per example.
    public var hasTokenLabels: Bool { !tokenLabels.isEmpty }

    /// Tokenizes every text (and pair) with truncation to `maxLength` tokens.
    public static func encode(
        texts: [String], pairs: [String?], labels: [Int32], sources: [String] = [],
        tokenizer: any EncoderTokenizer, maxLength: Int
    ) -> EncodedDataset {
        let encodings = zip(texts, pairs).map { tokenizer.encode($0.0, pair: $0.1, maxLength: maxLength) }
        return EncodedDataset(encodings: encodings, labels: labels, texts: texts, pairs: pairs, sources: sources)
    }
}

/// One padded batch in the row-major `(B, T)` layout the model takes (dynamic padding: T is the
/// longest sequence of this batch, not `max_length`).
public struct PaddedBatch {
    public var inputIds: [Int32] = []
    public var tokenTypeIds: [Int32] = []
    public var attentionMask: [Int32] = []
    /// (B) class ids, (B, L) targets when the dataset has L per example, or (B, T) per-token targets (−100 on padding) when the dataset has them.
    public var labels: [Int32] = []
    /// Dataset indices of the rows.
    public var indices: [Int] = []
    public var sequenceLength = 0
    public var batchSize: Int { indices.count }

    public init() {}

    /// Fills the batch from `indices` of `dataset`, reusing this value's storage. Padding is on
    /// the right: `padTokenId`, attention mask 0, token type 0 and, for per-token targets, −100.
    public mutating func fill(from dataset: EncodedDataset, indices: ArraySlice<Int>, padTokenId: Int32) {
        let T = indices.map { dataset.encodings[$0].count }.max() ?? 0
        self.indices.removeAll(keepingCapacity: true)
        self.indices.append(contentsOf: indices)
        sequenceLength = T
        let n = indices.count * T
        inputIds.removeAll(keepingCapacity: true)
        tokenTypeIds.removeAll(keepingCapacity: true)
        attentionMask.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
        inputIds.reserveCapacity(n)
        for i in indices {
            let e = dataset.encodings[i]
            let padding = T - e.count
            inputIds.append(contentsOf: e.inputIds)
            inputIds.append(contentsOf: repeatElement(padTokenId, count: padding))
            tokenTypeIds.append(contentsOf: e.tokenTypeIds)
            tokenTypeIds.append(contentsOf: repeatElement(0, count: padding))
            attentionMask.append(contentsOf: e.attentionMask)
            attentionMask.append(contentsOf: repeatElement(0, count: padding))
            if dataset.hasTokenLabels {
                labels.append(contentsOf: dataset.tokenLabels[i])
                labels.append(contentsOf: repeatElement(-100, count: padding))
            } else if dataset.targetsPerExample == 1 {
                labels.append(dataset.labels[i])
            } else {
                let w = dataset.targetsPerExample
                labels.append(contentsOf: dataset.labels[(i * w)..<((i + 1) * w)])
            }
        }
    }
}

/// The order of examples in an epoch, with PyTorch `RandomSampler` / `DistributedSampler`
/// semantics: one seeded permutation per epoch, derived from (seed, epoch) so any epoch's order
/// can be replayed on resume without replaying the ones before it.
public enum EpochOrder {
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SeededRNG(seed: seed, stream: RandomStreams.epochPermutation(epoch: epoch))
        var order = Array(0..<count)
        // Fisher–Yates with an unbiased bounded draw.
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(rng.next(upperBound: UInt64(i + 1)))
            order.swapAt(i, j)
        }
        return order
    }

    /// Rank `rank`'s share of an epoch's order, with `DistributedSampler` semantics: rank r takes
    /// every `ranks`-th index from r, so batch k of all ranks together covers the same examples as
    /// batch k of one process with a `ranks` times larger batch. The shards have equal length:
    /// the order is padded by repeating its start to a multiple of `ranks` (`drop_last=False`), or
    /// with `dropLast` its tail beyond the last multiple is left out of this epoch.
    public static func shard(_ order: [Int], rank: Int, ranks: Int, dropLast: Bool = false) -> [Int] {
        guard ranks > 1, !order.isEmpty else { return order }
        let total = shardSize(count: order.count, ranks: ranks, dropLast: dropLast) * ranks
        return stride(from: rank, to: total, by: ranks).map { order[$0 % order.count] }
    }

    /// Examples per rank and epoch for `count` examples (see `shard`).
    public static func shardSize(count: Int, ranks: Int, dropLast: Bool = false) -> Int {
        dropLast ? count / ranks : (count + ranks - 1) / ranks
    }

    /// Hugging Face's `LengthGroupedSampler` order (`group_by_length`): the epoch's permutation
    /// cut into mega-batches of `megabatchMultiplier × batchSize`, each sorted by length (longest
    /// first), so a batch holds texts of similar length and pads little; the mega-batch order stays
    /// random. HF also moves the single longest batch to the front, which surfaces an
    /// out-of-memory error at once; done here too.
    public static func lengthGrouped(_ order: [Int], lengths: [Int], batchSize: Int, megabatchMultiplier: Int = 50) -> [Int] {
        let megabatch = max(batchSize * megabatchMultiplier, 1)
        var grouped: [Int] = []
        grouped.reserveCapacity(order.count)
        for start in stride(from: 0, to: order.count, by: megabatch) {
            let chunk = order[start..<min(start + megabatch, order.count)]
            // Stable: equal lengths keep their random order.
            grouped += chunk.enumerated().sorted { (a, b) in
                lengths[a.element] != lengths[b.element] ? lengths[a.element] > lengths[b.element] : a.offset < b.offset
            }.map(\.element)
        }
        // Swap the batch holding the longest example with the first batch.
        if let longest = grouped.indices.max(by: { lengths[grouped[$0]] < lengths[grouped[$1]] }), longest >= batchSize {
            let first = 0..<min(batchSize, grouped.count)
            let batchStart = longest / batchSize * batchSize
            let other = batchStart..<min(batchStart + batchSize, grouped.count)
            if first.count == other.count {
                for (i, j) in zip(first, other) { grouped.swapAt(i, j) }
            }
        }
        return grouped
    }
}

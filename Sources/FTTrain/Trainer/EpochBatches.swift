/// An epoch's optimizer steps, as the training loops consume them: the epoch's seeded permutation
/// (`EpochOrder`), this rank's shard of it, optionally length-grouped, cut into micro-batches of
/// `plan.batchSize` with dynamic padding, `plan.accumulation` of them per step.
///
/// The padded buffers are allocated once and refilled for every step, so a step's batches are
/// valid until the next one is drawn (the iterator refills them then).
public final class EpochBatches {
    /// One optimizer step's data.
    public struct Update {
        /// The step's index within its epoch (0 ..< `plan.updatesPerEpoch`).
        public let index: Int
        /// `plan.accumulation` micro-batches (fewer at the epoch's end), each (B ≤ `plan.batchSize`, T)
        /// padded to its own longest example.
        public let microBatches: [ClassificationStep.Batch]
        /// Examples in the micro-batches, on this rank.
        public var samples: Int { microBatches.reduce(0) { $0 + $1.batchSize } }
    }

    /// Batch size, accumulation, ranks and micro-batches per epoch of the steps drawn.
    public let plan: TrainingPlan
    private let dataset: EncodedDataset
    private let rank: Int
    private let seed: UInt64
    private let padTokenId: Int32
    /// Each example's token count when batches are length-grouped (`group_by_length`), else nil.
    private let groupingLengths: [Int]?
    /// `plan.accumulation` reusable batches: a step fills as many as it has micro-batches.
    private var padded: [PaddedBatch]

    /// - Parameters:
    ///   - seed: the permutations' seed (`EpochOrder.permutation`).
    ///   - groupByLength: Hugging Face's `LengthGroupedSampler` order within the shard.
    public init(dataset: EncodedDataset, plan: TrainingPlan, rank: Int, seed: UInt64, padTokenId: Int32, groupByLength: Bool = false) {
        self.plan = plan
        self.dataset = dataset
        self.rank = rank
        self.seed = seed
        self.padTokenId = padTokenId
        groupingLengths = groupByLength ? dataset.encodings.map(\.count) : nil
        padded = [PaddedBatch](repeating: PaddedBatch(), count: plan.accumulation)
    }

    /// This rank's examples of epoch `epoch` in the order its micro-batches take them.
    public func order(epoch: Int) -> [Int] {
        let order = EpochOrder.shard(
            EpochOrder.permutation(count: dataset.count, seed: seed, epoch: epoch),
            rank: rank, ranks: plan.ranks, dropLast: plan.dropLast)
        guard let groupingLengths else { return order }
        return EpochOrder.lengthGrouped(order, lengths: groupingLengths, batchSize: plan.batchSize)
    }

    /// The steps of epoch `epoch` (the index its permutation is derived from) from step
    /// `firstUpdate` of it on, which is where a resumed run continues.
    public func updates(epoch: Int, from firstUpdate: Int = 0) -> Updates {
        Updates(owner: self, order: order(epoch: epoch), nextIndex: firstUpdate)
    }

    /// The steps of one epoch; refills the owner's buffers as it goes.
    public struct Updates: Sequence, IteratorProtocol {
        let owner: EpochBatches
        let order: [Int]
        /// The index of the step `next()` returns.
        var nextIndex: Int

        public mutating func next() -> Update? {
            let plan = owner.plan
            guard nextIndex < plan.updatesPerEpoch else { return nil }
            let firstMicroBatch = nextIndex * plan.accumulation
            let count = Swift.min(plan.accumulation, plan.microBatchesPerEpoch - firstMicroBatch)
            guard count > 0 else { return nil }
            var microBatches: [ClassificationStep.Batch] = []
            microBatches.reserveCapacity(count)
            for k in 0..<count {
                let start = (firstMicroBatch + k) * plan.batchSize
                owner.padded[k].fill(
                    from: owner.dataset, indices: order[start..<Swift.min(start + plan.batchSize, order.count)],
                    padTokenId: owner.padTokenId)
                let p = owner.padded[k]
                microBatches.append(
                    ClassificationStep.Batch(
                        inputIds: p.inputIds, tokenTypeIds: p.tokenTypeIds, attentionMask: p.attentionMask,
                        labels: p.labels, sequenceLength: p.sequenceLength))
            }
            defer { nextIndex += 1 }
            return Update(index: nextIndex, microBatches: microBatches)
        }
    }
}

import FTCore
import FTModel

/// Class probabilities of a classifier over a dataset, in eval mode (no dropout), in batches.
public struct Predictions: Sendable {
    /// (N, K) softmax probabilities, row-major.
    public let probabilities: [Float]
    public let classes: Int
    /// Mean cross-entropy against the dataset's labels (class weights not applied, as HF reports
    /// `eval_loss` with the model's own loss).
    public let loss: Double

    public var count: Int { classes == 0 ? 0 : probabilities.count / classes }

    public func row(_ i: Int) -> ArraySlice<Float> { probabilities[(i * classes)..<((i + 1) * classes)] }

    /// The most probable class of each row (lowest index on ties, as `argmax`).
    public var predictedClasses: [Int] {
        (0..<count).map { i in
            var best = 0
            for k in 1..<classes where probabilities[i * classes + k] > probabilities[i * classes + best] { best = k }
            return best
        }
    }

    /// Runs `model` over `dataset`. Examples are grouped into batches of `batchSize` after
    /// sorting by length, so padding costs little; results come back in dataset order.
    public static func compute(model: any SequenceModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32) throws -> Predictions {
        try compute(model: model, dataset: dataset, batchSize: batchSize, padTokenId: padTokenId, world: SingleProcessWorld())
    }

    /// Distributed evaluation, collective: the batches (the very batches one process forms) are
    /// dealt round-robin to the ranks, each rank runs its own, and the rows and batch losses are
    /// gathered bit for bit (`gatherDisjoint`). Every example is evaluated once — nothing is
    /// padded or duplicated — in the same batch as in one process, and the loss is summed in the
    /// same order; so every rank returns exactly the single-process predictions and loss
    /// (given the same kernels and thread count per forward).
    public static func compute(
        model: any SequenceModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32,
        world: TrainingWorld
    ) throws -> Predictions {
        let K = model.numLabels
        precondition(K > 0, "a classification head is needed")
        var probabilities = [Float](repeating: 0, count: dataset.count * K)
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        let starts = Array(stride(from: 0, to: order.count, by: batchSize))
        var batchLosses = [Float](repeating: 0, count: starts.count)
        var batch = PaddedBatch()
        var rowProbabilities = [Float](repeating: 0, count: batchSize * K)
        for (j, start) in starts.enumerated() where j % world.size == world.rank {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let B = batch.batchSize
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds,
                attentionMask: batch.attentionMask, batch: B, sequence: batch.sequenceLength,
                training: false, dropoutSeed: 0, firstTokenOnly: true)  // only the logits are read
            batchLosses[j] = rowProbabilities.withUnsafeMutableBufferPointer { p in
                SoftmaxCrossEntropy.forward(
                    logits: out.logits!, labels: batch.labels, batch: B, classes: K,
                    probabilities: p.baseAddress!)
            }
            for (row, index) in batch.indices.enumerated() {
                for k in 0..<K { probabilities[index * K + k] = rowProbabilities[row * K + k] }
            }
        }
        try world.gatherDisjoint(&probabilities)
        try world.gatherDisjoint(&batchLosses)
        var totalLoss = 0.0
        for (j, start) in starts.enumerated() {
            totalLoss += Double(batchLosses[j]) * Double(min(start + batchSize, order.count) - start)
        }
        return Predictions(
            probabilities: probabilities, classes: K,
            loss: dataset.count > 0 ? totalLoss / Double(dataset.count) : 0)
    }
}

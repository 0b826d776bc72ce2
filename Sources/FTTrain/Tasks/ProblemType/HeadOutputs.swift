import FTCore
import FTModel

/// The raw outputs (B, L) of a sequence head over a dataset and the task's mean loss, in eval
/// mode, collective as `Predictions` is: the batches one process forms are dealt round-robin to
/// the ranks and the rows and batch losses gathered bit for bit, so every rank returns exactly the
/// single-process outputs and loss. Multi-label and regression read these (probabilities by a
/// sigmoid, scores as they are) rather than a softmax.
public struct HeadOutputs: Sendable {
    /// (N, L) logits, row-major.
    public let logits: [Float]
    public let width: Int
    /// The objective's loss averaged over the examples (each batch's mean weighted by its size:
    /// the mean over all N·L entries for BCE and MSE).
    public let loss: Double

    public static func compute(
        model: any SequenceModel, dataset: EncodedDataset, objective: any TaskObjective, batchSize: Int, padTokenId: Int32,
        world: TrainingWorld = SingleProcessWorld()
    ) throws -> HeadOutputs {
        let L = model.numLabels
        precondition(L > 0 && dataset.targetsPerExample == L, "a head of \(dataset.targetsPerExample) outputs is needed")
        var logits = [Float](repeating: 0, count: dataset.count * L)
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        let starts = Array(stride(from: 0, to: order.count, by: max(batchSize, 1)))
        var batchLosses = [Float](repeating: 0, count: starts.count)
        var batch = PaddedBatch()
        var dOutputs = [Float](repeating: 0, count: max(batchSize, 1) * L)
        for (j, start) in starts.enumerated() where j % world.size == world.rank {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let B = batch.batchSize, T = batch.sequenceLength
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: B, sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: true)
            guard let head = out.logits else { throw ModelError.badInput("\(model.architectureName) has no sequence head") }
            batchLosses[j] = objective.loss(outputs: head, targets: batch.labels, batch: B, sequence: T, dOutputs: &dOutputs)
            for (row, index) in batch.indices.enumerated() {
                for k in 0..<L { logits[index * L + k] = head[row * L + k] }
            }
        }
        try world.gatherDisjoint(&logits)
        try world.gatherDisjoint(&batchLosses)
        var total = 0.0
        for (j, start) in starts.enumerated() {
            total += Double(batchLosses[j]) * Double(min(start + batchSize, order.count) - start)
        }
        return HeadOutputs(logits: logits, width: L, loss: dataset.count > 0 ? total / Double(dataset.count) : 0)
    }
}

import FTCore
import FTModel

/// What a classifier says about every row of an unlabelled pool: its class probabilities and,
/// for `kcenter`, its sentence embedding (mean of the last hidden states over real tokens, as
/// `fttrain embed --pooling mean`).
public struct PoolScores: Sendable {
    /// (N, K) softmax probabilities, row-major.
    public var probabilities: [Float]
    /// (N, C) mean-pooled embeddings, row-major; empty unless asked for.
    public var embeddings: [Float]
    public var classes: Int
    public var hiddenSize: Int

    /// Runs `model` over `dataset` in eval mode, data-parallel over `world` (collective): the
    /// batches one process would form (rows sorted by length, `batchSize` each) are dealt
    /// round-robin to the ranks, each rank runs its own, and the rows are gathered bit for bit
    /// (`gatherDisjoint`). Each row is computed in the same batch as in one process, so every rank
    /// returns exactly the single-process scores (given the same kernels and thread count).
    public static func compute(
        model: any SequenceModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32, embeddings: Bool,
        world: TrainingWorld = SingleProcessWorld()
    ) throws -> PoolScores {
        let K = model.numLabels, C = model.hiddenSize, N = dataset.count
        precondition(K > 0, "a classification head is needed")
        var probabilities = [Float](repeating: 0, count: N * K)
        var pooled = [Float](repeating: 0, count: embeddings ? N * C : 0)
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        var batch = PaddedBatch()
        var rowProbabilities = [Float](repeating: 0, count: batchSize * K)  // (B, K)
        var rowEmbeddings = [Float](repeating: 0, count: embeddings ? batchSize * C : 0)  // (B, C)
        for (j, start) in stride(from: 0, to: order.count, by: batchSize).enumerated() where j % world.size == world.rank {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let B = batch.batchSize, T = batch.sequenceLength
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds,
                attentionMask: batch.attentionMask, batch: B, sequence: T,
                training: false, dropoutSeed: 0, firstTokenOnly: !embeddings)  // every token is pooled for embeddings
            _ = rowProbabilities.withUnsafeMutableBufferPointer { p in
                SoftmaxCrossEntropy.forward(
                    logits: out.logits!, labels: batch.labels, batch: B, classes: K, probabilities: p.baseAddress!)
            }
            if embeddings {
                rowEmbeddings.withUnsafeMutableBufferPointer { e in
                    SentencePooling.mean.pool(
                        output: e.baseAddress!, lastHidden: out.lastHiddenState, attentionMask: batch.attentionMask,
                        batch: B, sequence: T, channels: C, normalize: false)
                }
            }
            for (row, index) in batch.indices.enumerated() {
                for k in 0..<K { probabilities[index * K + k] = rowProbabilities[row * K + k] }
                if embeddings { for c in 0..<C { pooled[index * C + c] = rowEmbeddings[row * C + c] } }
            }
        }
        try world.gatherDisjoint(&probabilities)
        if embeddings { try world.gatherDisjoint(&pooled) }
        return PoolScores(probabilities: probabilities, embeddings: pooled, classes: K, hiddenSize: C)
    }
}

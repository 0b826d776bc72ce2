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

    /// Runs `model` over `dataset` in order. Examples are grouped into batches of `batchSize`
    /// after sorting by length, so padding costs little; results come back in dataset order.
    public static func compute(model: BertModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32) throws -> Predictions {
        let K = model.numLabels
        precondition(K > 0, "a classification head is needed")
        var probabilities = [Float](repeating: 0, count: dataset.count * K)
        var totalLoss = 0.0
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        var batch = PaddedBatch()
        var rowProbabilities = [Float](repeating: 0, count: batchSize * K)
        for start in stride(from: 0, to: order.count, by: batchSize) {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let B = batch.batchSize
            let out = try model.forward(inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds,
                                        attentionMask: batch.attentionMask, batch: B, sequence: batch.sequenceLength,
                                        training: false)
            let loss = rowProbabilities.withUnsafeMutableBufferPointer { p in
                SoftmaxCrossEntropy.forward(logits: out.logits!, labels: batch.labels, batch: B, classes: K,
                                            probabilities: p.baseAddress!)
            }
            totalLoss += Double(loss) * Double(B)
            for (row, index) in batch.indices.enumerated() {
                for k in 0..<K { probabilities[index * K + k] = rowProbabilities[row * K + k] }
            }
        }
        return Predictions(probabilities: probabilities, classes: K,
                           loss: dataset.count > 0 ? totalLoss / Double(dataset.count) : 0)
    }
}

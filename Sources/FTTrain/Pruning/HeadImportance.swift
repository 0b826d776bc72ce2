import FTCore
import FTKernels
import FTModel
import Foundation

/// Attention-head importance by the head-mask gradient (Michel et al. 2019, "Are Sixteen Heads
/// Really Better than One?", §4.1): Iₕ = Σ_batches |∂loss/∂ξₕ| over a labelled set, where ξₕ
/// multiplies head h's output (`EncoderModel+HeadMask`), then normalised per layer by the layer's
/// L2 norm (their §4.1 and `run_bertology.py`'s `exponent 2`) so layers compare. The loss is the
/// classifier's mean cross-entropy of each batch, as `run_bertology.py` takes the gradient per batch.
public struct HeadImportance: Sendable {
    /// Iₕ per layer and local head (the model's current heads), before normalisation.
    public let raw: [[Float]]
    /// The original head number of each local head (`EncoderConfig.keptHeads`).
    public let originalHeads: [[Int]]

    public init(raw: [[Float]], originalHeads: [[Int]]) {
        self.raw = raw
        self.originalHeads = originalHeads
    }

    /// Accumulates |∂loss/∂ξ| over `dataset` in batches of `batchSize`.
    /// - Throws: `PruningError` when the model has no classifier, has dropout (load it with
    ///   dropout 0: the gradient is of the model as it predicts), or the dataset is empty.
    public static func compute(model: EncoderModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32) throws -> HeadImportance {
        let config = model.config
        guard model.numLabels > 0 else {
            throw PruningError("head importance needs a classifier (a fine-tuned model whose config.json has id2label)")
        }
        guard config.hiddenDropoutProb == 0, config.attentionProbsDropoutProb == 0, (config.classifierDropout ?? 0) == 0 else {
            throw PruningError("head importance is the gradient of the model as it predicts: load it with dropout 0")
        }
        guard dataset.count > 0 else { throw PruningError("head importance needs labelled examples; the data file has none") }
        guard batchSize > 0 else { throw PruningError("batch size must be positive, got \(batchSize)") }
        let L = model.numLabels
        var total = (0..<config.numHiddenLayers).map { [Float](repeating: 0, count: config.heads(layer: $0)) }
        var batch = PaddedBatch()
        var dLogits = [Float](repeating: 0, count: batchSize * L)
        defer { model.headMaskGradients = nil }
        for start in stride(from: 0, to: dataset.count, by: batchSize) {
            batch.fill(from: dataset, indices: (start..<min(start + batchSize, dataset.count)).map { $0 }[...], padTokenId: padTokenId)
            let B = batch.batchSize, T = batch.sequenceLength
            if let bad = batch.labels.first(where: { !(0..<Int32(L)).contains($0) }) {
                throw PruningError("label id \(bad) is outside the model's \(L) classes")
            }
            model.recordHeadMaskGradients()
            model.store.zeroGradients()
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: B, sequence: T, training: true, firstTokenOnly: true)
            _ = batch.labels.withUnsafeBufferPointer { labels in
                SoftmaxCrossEntropy.forward(
                    logits: out.logits!, labels: labels.baseAddress!, batch: B, classes: L, dLogits: &dLogits)
            }
            model.backward(dLogits: dLogits)
            let gradients = model.headMaskGradients!
            for l in total.indices {
                for h in total[l].indices { total[l][h] += abs(gradients[l][h]) }
            }
        }
        return HeadImportance(raw: total, originalHeads: (0..<config.numHiddenLayers).map(config.keptHeads))
    }

    /// Iₕ / ‖I_layer‖₂ (a layer whose heads all score 0 stays 0).
    public var normalized: [[Float]] {
        raw.map { layer in
            let norm = layer.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return layer.map { norm > 0 ? $0 / norm : 0 }
        }
    }

    /// The `count` least important heads over all layers (normalised scores, ties in layer then
    /// head order), never a layer's last head: `{layer: [local head]}`.
    /// - Throws: `PruningError` when `count` is negative or exceeds the heads that may go
    ///   (every head but one per layer).
    public func leastImportant(_ count: Int) throws -> [Int: [Int]] {
        let total = raw.reduce(0) { $0 + $1.count }
        let removable = total - raw.filter { !$0.isEmpty }.count
        guard count >= 0 else { throw PruningError("the number of heads to prune must not be negative, got \(count)") }
        guard count <= removable else {
            throw PruningError(
                "cannot prune \(count) heads: the model has \(total) and every layer keeps at least one, so at most \(removable) can go")
        }
        let scores = normalized
        var order: [(score: Float, layer: Int, head: Int)] = []
        for (l, layer) in scores.enumerated() { for (h, s) in layer.enumerated() { order.append((s, l, h)) } }
        order.sort { ($0.score, $0.layer, $0.head) < ($1.score, $1.layer, $1.head) }
        var left = raw.map(\.count)
        var chosen: [Int: [Int]] = [:]
        var n = 0
        for entry in order where n < count && left[entry.layer] > 1 {
            chosen[entry.layer, default: []].append(entry.head)
            left[entry.layer] -= 1
            n += 1
        }
        return chosen.mapValues { $0.sorted() }
    }

    /// For `pruning.json`: raw and normalised scores per layer, by original head number.
    public var dictionary: [String: Any] {
        let scores = normalized
        return [
            "head_importance": raw.indices.map { l in
                Dictionary(uniqueKeysWithValues: originalHeads[l].enumerated().map { (String($0.element), Double(raw[l][$0.offset])) })
            },
            "head_importance_normalized": raw.indices.map { l in
                Dictionary(uniqueKeysWithValues: originalHeads[l].enumerated().map { (String($0.element), Double(scores[l][$0.offset])) })
            },
        ]
    }
}

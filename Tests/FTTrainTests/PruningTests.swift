import FTCore
import FTKernels
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// `fttrain prune`'s pieces on tiny random BERTs (seconds): magnitude masks (exact counts, global
/// against per-tensor), pruned weights staying zero through a recovery fine-tune, head importance
/// against a finite difference, head removal against head masking, the saved directory, bad requests.
final class PruningTests: XCTestCase {
    private let config = EncoderConfig(
        vocabSize: 23, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4,
        intermediateSize: 24, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, maxPositionEmbeddings: 8)

    private func makeModel(seed: UInt64 = 5, config: EncoderConfig? = nil) throws -> EncoderModel {
        let model = try EncoderModel(config: config ?? self.config, numLabels: 3)
        var rng = SeededRNG(seed: seed)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.3)
        return model
    }

    private let batch = ClassificationStep.Batch(
        inputIds: [2, 5, 7, 0, 3, 9, 4, 1, 8, 8, 0, 0, 6, 12, 21, 3], tokenTypeIds: [0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1],
        attentionMask: [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1], labels: [2, 0, 1, 2], sequenceLength: 4)

    private func logits(_ model: EncoderModel) throws -> [Float] {
        let out = try model.forward(
            inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
            batch: 4, sequence: 4, training: false)
        return Array(UnsafeBufferPointer(start: out.logits!, count: 12))
    }

    private func loss(_ model: EncoderModel) throws -> Double {
        let l = try logits(model)
        return Double(SoftmaxCrossEntropy.forward(logits: l, labels: batch.labels, batch: 4, classes: 3))
    }

    private var dataset: EncodedDataset {
        let encodings = (0..<4).map { b in
            TokenizerEncoding(
                inputIds: Array(batch.inputIds[(b * 4)..<(b * 4 + 4)]), tokenTypeIds: Array(batch.tokenTypeIds[(b * 4)..<(b * 4 + 4)]),
                attentionMask: Array(batch.attentionMask[(b * 4)..<(b * 4 + 4)]))
        }
        return EncodedDataset(encodings: encodings, labels: batch.labels, texts: ["a", "b", "c", "d"], pairs: [nil, nil, nil, nil])
    }

    // MARK: - Magnitude

    func testMagnitudeMaskPrunesExactCountsGlobalAndPerTensor() throws {
        let model = try makeModel()
        // Layer 1's weights three times larger: a global threshold prunes layer 0 more.
        for name in model.quantizedWeightNames where name.contains("layer.1.") {
            let p = model.store.value(name)
            for i in 0..<model.store.view(name).count { p[i] *= 3 }
        }
        let names = model.quantizedWeightNames
        XCTAssertEqual(names.count, 12, "six linear weights per layer")
        let total = names.reduce(0) { $0 + model.store.view($1).count }
        for sparsity in [0.0, 0.3, 0.5, 0.9] {
            let global = try WeightMask(model: model, sparsity: sparsity, scope: .global)
            let pruned = global.keep.reduce(0) { $0 + $1.filter { $0 == 0 }.count }
            XCTAssertEqual(pruned, Int((sparsity * Double(total)).rounded()), "global \(sparsity)")
            // Every pruned magnitude ≤ every kept one.
            var largestPruned: Float = 0, smallestKept = Float.infinity
            for (name, keep) in zip(global.names, global.keep) {
                let p = model.store.value(name)
                for i in keep.indices {
                    if keep[i] == 0 { largestPruned = max(largestPruned, abs(p[i])) } else { smallestKept = min(smallestKept, abs(p[i])) }
                }
            }
            XCTAssertLessThanOrEqual(largestPruned, smallestKept, "global threshold at \(sparsity)")

            let layer = try WeightMask(model: model, sparsity: sparsity, scope: .layer)
            for (name, keep) in zip(layer.names, layer.keep) {
                XCTAssertEqual(keep.filter { $0 == 0 }.count, Int((sparsity * Double(keep.count)).rounded()), "\(name) at \(sparsity)")
            }
        }
        let copy = try makeModel()
        for (a, b) in zip(copy.quantizedWeightNames, names) {
            copy.store.value(a).update(from: model.store.value(b), count: model.store.view(b).count)
        }
        try WeightMask(model: copy, sparsity: 0.5, scope: .global).apply(to: copy.store)
        let report = SparsityReport(model: copy)
        XCTAssertEqual(report.overall, Double(Int((0.5 * Double(total)).rounded())) / Double(total), accuracy: 1e-12)
        XCTAssertGreaterThan(report.perLayer[0], 0.7, "the small layer loses most under a global threshold")
        XCTAssertLessThan(report.perLayer[1], 0.3)
        // Embeddings, norms, biases, pooler and classifier are untouched.
        let original = try makeModel()
        for name in ["embeddings.word_embeddings.weight", "pooler.dense.weight", "classifier.weight", "encoder.layer.0.attention.self.query.bias"] {
            XCTAssertEqual(copy.store.valueArray(name), original.store.valueArray(name), name)
        }
        // Pruning again to the same sparsity changes nothing (zeros are the first candidates).
        let before = Array(copy.store.values)
        try WeightMask(model: copy, sparsity: 0.5, scope: .global).apply(to: copy.store)
        XCTAssertEqual(Array(copy.store.values), before)
    }

    func testSparsityOutsideTheUnitIntervalIsRejected() throws {
        let model = try makeModel()
        for bad in [-0.1, 1.0, 1.5, .nan, .infinity] {
            XCTAssertThrowsError(try WeightMask(model: model, sparsity: bad, scope: .global), "\(bad)") { error in
                XCTAssertTrue("\(error)".contains("[0, 1)"), "\(error)")
            }
        }
    }

    /// The recovery fine-tune's hook: masked gradients keep the pruned weights exactly zero
    /// through AdamW with weight decay, while the kept weights train.
    func testPrunedWeightsStayZeroThroughRecoveryFineTune() throws {
        let model = try makeModel()
        let mask = try WeightMask(model: model, sparsity: 0.6, scope: .layer)
        mask.apply(to: model.store)
        let before = Array(model.store.values)
        let schedule = LearningRateSchedule(type: .constant, baseLearningRate: 1e-2, trainingSteps: 10)
        let stepper = try ClassificationStep(model: model, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1)
        stepper.adjustGradients = { mask.maskGradients(of: $0) }
        for step in 0..<10 { _ = try stepper.step([batch], dropoutSeed: UInt64(step)) }
        var changed = 0
        for (name, keep) in zip(mask.names, mask.keep) {
            let p = model.store.value(name), offset = model.store.view(name).offset
            for i in keep.indices {
                if keep[i] == 0 {
                    XCTAssertEqual(p[i], 0, "\(name)[\(i)] was pruned")
                } else if p[i] != before[offset + i] {
                    changed += 1
                }
            }
        }
        XCTAssertGreaterThan(changed, 100, "the kept weights trained")
        XCTAssertEqual(SparsityReport(model: model).overall, mask.sparsity, accuracy: 1e-12)
        // The control: without the mask the pruned weights move.
        let control = try makeModel()
        mask.apply(to: control.store)
        let free = try ClassificationStep(model: control, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1)
        _ = try free.step([batch])
        XCTAssertLessThan(SparsityReport(model: control).overall, mask.sparsity / 2)
    }

    // MARK: - Heads

    /// |∂loss/∂ξ| from one backward pass against a central difference of the loss in ξ, where ξ
    /// scales the head's columns of the attention-output weight (`context_h · ξ`).
    func testHeadImportanceMatchesFiniteDifference() throws {
        let model = try makeModel()
        let importance = try HeadImportance.compute(model: model, dataset: dataset, batchSize: 4, padTokenId: 0)
        XCTAssertNil(model.headMaskGradients, "recording stops afterwards")
        let d = config.headSize, C = config.hiddenSize, epsilon: Float = 1e-2
        for l in 0..<2 {
            let w = model.store.value("encoder.layer.\(l).attention.output.dense.weight")
            for h in 0..<4 {
                func scaled(_ factor: Float) throws -> Double {
                    for r in 0..<C { for j in 0..<d { w[r * C + h * d + j] *= factor } }
                    defer { for r in 0..<C { for j in 0..<d { w[r * C + h * d + j] /= factor } } }
                    return try loss(model)
                }
                let difference = (try scaled(1 + epsilon) - scaled(1 - epsilon)) / (2 * Double(epsilon))
                XCTAssertEqual(Double(importance.raw[l][h]), abs(difference), accuracy: 2e-4 + 1e-2 * abs(difference), "layer \(l) head \(h)")
            }
        }
        XCTAssertTrue(importance.raw.joined().contains { $0 > 1e-3 })
        // Two batches sum their absolute gradients.
        let halves = try HeadImportance.compute(model: model, dataset: dataset, batchSize: 2, padTokenId: 0)
        XCTAssertTrue(zip(halves.raw.joined(), importance.raw.joined()).allSatisfy { $0 >= $1 - 1e-5 }, "Σ|g_b| ≥ |Σ g_b|")
        // Normalised per layer: unit L2 norm.
        for layer in importance.normalized {
            XCTAssertEqual(layer.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
    }

    func testHeadImportanceNeedsAClassifierNoDropoutAndData() throws {
        let bare = try EncoderModel(config: config)
        XCTAssertThrowsError(try HeadImportance.compute(model: bare, dataset: dataset, batchSize: 4, padTokenId: 0))
        var withDropout = config
        withDropout.hiddenDropoutProb = 0.1
        XCTAssertThrowsError(try HeadImportance.compute(model: try makeModel(config: withDropout), dataset: dataset, batchSize: 4, padTokenId: 0)) {
            XCTAssertTrue("\($0)".contains("dropout"), "\($0)")
        }
        let empty = EncodedDataset(encodings: [], labels: [], texts: [], pairs: [])
        XCTAssertThrowsError(try HeadImportance.compute(model: try makeModel(), dataset: empty, batchSize: 4, padTokenId: 0)) {
            XCTAssertTrue("\($0)".contains("no"), "\($0)")
        }
    }

    /// Removing heads gives the logits of masking them, at every step of a repeated pruning, and
    /// `pruned_heads` keeps the original numbering.
    func testPrunedModelEqualsMaskedModel() throws {
        let model = try makeModel()
        let first: [Int: [Int]] = [0: [0, 2], 1: [3]]
        let pruned = try HeadPruning.prune(model, removing: first)
        XCTAssertEqual(pruned.config.prunedHeads, first)
        XCTAssertEqual(pruned.store.count, model.store.count - 3 * (4 * 16 * 4 + 4 * 3), "q, k, v rows and biases and output columns of 3 heads")
        let masked = try makeModel()
        try HeadPruning.mask(masked, heads: first)
        assertClose(try logits(pruned), try logits(masked), atol: 1e-5, rtol: 1e-5, "pruned against masked")
        XCTAssertGreaterThan(zip(try logits(model), try logits(masked)).map { abs($0 - $1) }.max()!, 1e-3, "masking changes the logits")

        // Layer 0 now has original heads 1 and 3: removing its local head 1 removes original head 3.
        let again = try HeadPruning.prune(pruned, removing: [0: [1], 1: [0]])
        XCTAssertEqual(again.config.prunedHeads, [0: [0, 2, 3], 1: [0, 3]])
        XCTAssertEqual((0..<2).map(again.config.heads), [1, 2])
        try HeadPruning.mask(masked, heads: [0: [3], 1: [0]])
        assertClose(try logits(again), try logits(masked), atol: 1e-5, rtol: 1e-5, "twice pruned against masked")
        // It trains: forward and backward on the narrower layers.
        let stepper = try ClassificationStep(
            model: again, schedule: LearningRateSchedule(type: .constant, baseLearningRate: 1e-2, trainingSteps: 2), weightDecay: 0, maxGradNorm: 0)
        let losses = try (0..<2).map { _ in try stepper.step([batch]).loss }
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
    }

    func testBadHeadRequestsAreRejected() throws {
        let model = try makeModel()
        let cases: [([Int: [Int]], String)] = [
            ([2: [0]], "layer 2 does not exist"), ([0: [4]], "head 4 does not exist"), ([1: [-1]], "head -1"),
            ([0: [0, 1, 2, 3]], "keep at least one"), ([0: [1, 1]], "named twice"),
        ]
        for (heads, message) in cases {
            XCTAssertThrowsError(try HeadPruning.prune(model, removing: heads), "\(heads)") {
                XCTAssertTrue("\($0)".contains(message), "\(heads): \($0)")
            }
        }
        let importance = HeadImportance(raw: [[0.1, 0.2, 0.3, 0.4], [5, 6, 7, 8]], originalHeads: [[0, 1, 2, 3], [0, 1, 2, 3]])
        XCTAssertThrowsError(try importance.leastImportant(7)) { XCTAssertTrue("\($0)".contains("at most 6"), "\($0)") }
        XCTAssertThrowsError(try importance.leastImportant(-1))
        XCTAssertThrowsError(try HeadPruning.headCount(fraction: 1, of: config))
        XCTAssertEqual(try HeadPruning.headCount(fraction: 0.25, of: config), 2)
        XCTAssertEqual(try importance.leastImportant(2), [0: [0, 1]])
        // Normalised per layer: layer 1's 0.3 is small beside its 30, layer 0's 0.2 is not.
        let scaled = HeadImportance(raw: [[0.2, 0.2, 0.2, 0.2], [0.3, 0.3, 0.3, 30]], originalHeads: [[0, 1, 2, 3], [0, 1, 2, 3]])
        XCTAssertEqual(try scaled.leastImportant(1), [1: [0]])
        // Every head of a layer scoring lowest: one stays.
        let skewed = HeadImportance(raw: [[0, 0, 0, 0], [1, 2, 3, 4]], originalHeads: [[0, 1, 2, 3], [0, 1, 2, 3]])
        XCTAssertEqual(try skewed.leastImportant(4), [0: [0, 1, 2], 1: [0]])
    }

    /// The saved directory: config.json with pruned_heads, smaller tensors, loaded back with the same logits.
    func testPrunedDirectoryRoundTrip() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("source")
        try TinyModelDirectory.write(to: source, words: ["a", "b", "c"], hiddenSize: 16, layers: 2, heads: 4)
        let model = try EncoderModel.load(modelDirectory: source, numLabels: 3)
        let pruned = try HeadPruning.prune(model, removing: [1: [0, 1]])
        try WeightMask(model: pruned, sparsity: 0.4, scope: .global).apply(to: pruned.store)
        let output = root.appendingPathComponent("pruned")
        try PrunedModelExport.write(model: pruned, sourceDirectory: source, to: output, report: ["method": "test"])
        let config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["pruned_heads"] as? [String: [Int]], ["1": [0, 1]])
        XCTAssertEqual(config["hidden_dropout_prob"] as? Double, 0.1, "the source config is kept")
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("vocab.txt").path))
        let loaded = try EncoderModel.load(modelDirectory: output, numLabels: 3)
        XCTAssertEqual(loaded.config.prunedHeads, [1: [0, 1]])
        XCTAssertEqual(Array(loaded.store.values), Array(pruned.store.values))
        XCTAssertEqual(SparsityReport(model: loaded).overall, 0.4, accuracy: 1e-3)
    }
}

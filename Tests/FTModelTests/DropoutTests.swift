import FTCore
@testable import FTModel
import TestSupport
import XCTest

final class DropoutTests: XCTestCase {
    func testRateScaleAndDeterminism() {
        let dropout = Dropout(probability: 0.25, key: Dropout.key(seed: 7, site: 3))
        var x = [Float](repeating: 1, count: 100_000)
        dropout.apply(&x, count: x.count, firstIndex: 0)
        let kept = x.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 1e5, 0.75, accuracy: 0.01)
        XCTAssertTrue(kept.allSatisfy { $0 == 1 / 0.75 })
        // The mask depends on the global index only: applying it in two slices gives the same.
        var a = [Float](repeating: 2, count: 1000), b = a
        dropout.apply(&a, count: 1000, firstIndex: 0)
        b.withUnsafeMutableBufferPointer { p in
            dropout.apply(p.baseAddress!, count: 400, firstIndex: 0)
            dropout.apply(p.baseAddress! + 400, count: 600, firstIndex: 400)
        }
        XCTAssertEqual(a, b)
        let other = Dropout(probability: 0.25, key: Dropout.key(seed: 8, site: 3))
        XCTAssertNotEqual((0..<64).map(dropout.keeps), (0..<64).map(other.keeps))
        XCTAssertTrue(Dropout(probability: 0, key: 1).isIdentity)
    }

    /// Training with dropout changes the outputs, reproducibly for one seed; inference has none.
    func testModelDropoutIsSeededAndOffInInference() throws {
        var config = BertConfig(vocabSize: 20, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 16, maxPositionEmbeddings: 8)
        config.hiddenDropoutProb = 0.3
        config.attentionProbsDropoutProb = 0.3
        let model = try BertModel(config: config, numLabels: 2)
        var rng = SeededRNG(seed: 1)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        let ids: [Int32] = [1, 5, 9, 3, 2, 0], types = [Int32](repeating: 0, count: 6), mask: [Int32] = [1, 1, 1, 1, 1, 0]
        func logits(training: Bool, seed: UInt64) throws -> [Float] {
            let out = try model.forward(inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 3,
                                        training: training, dropoutSeed: seed)
            return Array(UnsafeBufferPointer(start: out.logits!, count: 4))
        }
        let eval = try logits(training: false, seed: 0)
        XCTAssertEqual(try logits(training: false, seed: 99), eval)
        let trainA = try logits(training: true, seed: 5)
        XCTAssertEqual(try logits(training: true, seed: 5), trainA)
        XCTAssertNotEqual(trainA, eval)
        XCTAssertNotEqual(try logits(training: true, seed: 6), trainA)
    }

    /// Backward through every dropout site, checked by finite differences with fixed masks.
    func testModelGradientWithDropout() throws {
        var config = BertConfig(vocabSize: 11, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2,
                                intermediateSize: 12, maxPositionEmbeddings: 6)
        config.hiddenDropoutProb = 0.2
        config.attentionProbsDropoutProb = 0.2
        config.classifierDropout = 0.3
        let model = try BertModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 4)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        let ids: [Int32] = [2, 5, 7, 1, 3, 9, 4, 0], types = [Int32](repeating: 0, count: 8)
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 0]
        let projection = LossProjection(count: 6, seed: 9)
        let hiddenProjection = LossProjection(count: 2 * 4 * 8, seed: 10)
        func loss() -> Double {
            let out = try! model.forward(inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
                                         training: true, dropoutSeed: 123)
            return projection.loss(out.logits!) + hiddenProjection.loss(out.lastHiddenState)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(dLogits: projection.weights, dLastHiddenState: hiddenProjection.weights)
        for view in model.store.views {
            GradientCheck.check(view.name, parameter: model.store.value(view.name), count: view.count,
                                analytic: model.store.gradientArray(view.name), loss: loss)
        }
    }
}

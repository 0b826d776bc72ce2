import FTCore
@testable import FTKernels
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

    /// The eight-lane mask is the scalar one, lane by lane, also where the index's high word is
    /// set and where its low word wraps within a block of eight (the scalar fallback).
    func testVectorMaskEqualsScalarMask() {
        let dropout = Dropout(probability: 0.1, key: Dropout.key(seed: 11, site: 5))
        for start in [0, 8, 1 << 20, (1 << 32) + 16, (1 << 33) - 64] {
            let bits = dropout.keptBits8(start)
            for lane in 0..<8 { XCTAssertEqual(bits[lane] != 0, dropout.keeps(start + lane), "index \(start + lane)") }
        }
        // Applying across the 2^32 boundary, unaligned, equals the element-by-element mask.
        let first = (1 << 32) - 13, count = 40
        var x = [Float](repeating: 3, count: count)
        dropout.apply(&x, count: count, firstIndex: first)
        for i in 0..<count { XCTAssertEqual(x[i], dropout.keeps(first + i) ? 3 / 0.9 : 0, "index \(first + i)") }
        // The rate holds on the vector path at p = 0.5 and near the 24-bit edges.
        for p: Float in [0.5, 0.999] {
            let d = Dropout(probability: p, key: 99)
            var ones = [Float](repeating: 1, count: 200_000)
            d.apply(&ones, count: ones.count, firstIndex: 0)
            XCTAssertEqual(Double(ones.filter { $0 != 0 }.count) / 2e5, Double(1 - p), accuracy: 0.005, "p \(p)")
        }
    }

    /// Training with dropout changes the outputs, reproducibly for one seed; inference has none.
    func testModelDropoutIsSeededAndOffInInference() throws {
        var config = EncoderConfig(
            vocabSize: 20, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
            intermediateSize: 16, maxPositionEmbeddings: 8)
        config.hiddenDropoutProb = 0.3
        config.attentionProbsDropoutProb = 0.3
        let model = try EncoderModel(config: config, numLabels: 2)
        var rng = SeededRNG(seed: 1)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        let ids: [Int32] = [1, 5, 9, 3, 2, 0], types = [Int32](repeating: 0, count: 6), mask: [Int32] = [1, 1, 1, 1, 1, 0]
        func logits(training: Bool, seed: UInt64) throws -> [Float] {
            let out = try model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 3,
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
        var config = EncoderConfig(
            vocabSize: 11, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2,
            intermediateSize: 12, maxPositionEmbeddings: 6)
        config.hiddenDropoutProb = 0.2
        config.attentionProbsDropoutProb = 0.2
        config.classifierDropout = 0.3
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 4)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        let ids: [Int32] = [2, 5, 7, 1, 3, 9, 4, 0], types = [Int32](repeating: 0, count: 8)
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 0]
        let projection = LossProjection(count: 6, seed: 9)
        let hiddenProjection = LossProjection(count: 2 * 4 * 8, seed: 10)
        func loss() -> Double {
            let out = try! model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
                training: true, dropoutSeed: 123)
            return projection.loss(out.logits!) + hiddenProjection.loss(out.lastHiddenState)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(dLogits: projection.weights, dLastHiddenState: hiddenProjection.weights)
        let C = config.hiddenSize
        for view in model.store.views {
            if view.name == config.family.names.wordEmbeddings {
                // Row pad_token_id (0) gets no gradient, as PyTorch's nn.Embedding(padding_idx=0),
                // although the padded position's hidden state reaches the loss here.
                let gradient = model.store.gradientArray(view.name)
                XCTAssertEqual(Array(gradient[0..<C]), [Float](repeating: 0, count: C), "the padding row has no gradient")
                GradientCheck.check(
                    view.name, parameter: model.store.value(view.name) + C, count: view.count - C,
                    analytic: Array(gradient[C...]), loss: loss)
                continue
            }
            GradientCheck.check(
                view.name, parameter: model.store.value(view.name), count: view.count,
                analytic: model.store.gradientArray(view.name), loss: loss)
        }
    }
}

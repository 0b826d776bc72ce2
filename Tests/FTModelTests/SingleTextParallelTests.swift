import FTCore
import Foundation
@testable import FTModel
import TestSupport
import XCTest

/// One text's inference forward spread over both threads (products' column parts, attention
/// heads, layer-norm and GELU rows on the spinning slice pool, `SlicePool`) gives the same bits as
/// on one thread: every value is computed by the same calls on the same operands whichever thread
/// runs it, so the test asks for equality, not a tolerance. all-MiniLM-L6-v2 on a 25-token text
/// (the served review's length) and a padded one; a small model with a classification head for
/// the first-query attention of the last layer.
final class SingleTextParallelTests: XCTestCase {
    private var savedThreads = 1
    override func setUp() {
        savedThreads = Parallel.threadCount
        SlicePool.spreadsSmallWork = true  // heads and rows across the threads whether the workers spin or not
    }
    override func tearDown() {
        Parallel.threadCount = savedThreads
        SlicePool.spreadsSmallWork = nil
    }

    func testRealModelOneTextSameBitsOnOneAndTwoThreads() throws {
        let model = try XCTUnwrap(ModelRegistry.load(modelDirectory: try TestAssets.realModelDirectory()) as? EncoderModel)
        Parallel.threadCount = 2
        model.prepareForInference()  // two column parts per product, run by one thread or two
        XCTAssertTrue(model.isPreparedForInference)
        let C = model.config.hiddenSize, T = 25
        var rng = SeededRNG(seed: 21)
        let ids = (0..<T).map { _ in Int32(1000 + rng.next() % 20000) }
        for kept in [T, T - 7] {
            let mask = (0..<T).map { Int32($0 < kept ? 1 : 0) }
            func hidden(threads: Int) throws -> [Float] {
                Parallel.threadCount = threads
                let out = try model.forward(
                    inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: T), attentionMask: mask, batch: 1, sequence: T,
                    training: false)
                return Array(UnsafeBufferPointer(start: out.lastHiddenState, count: T * C))
            }
            let one = try hidden(threads: 1), two = try hidden(threads: 2)
            XCTAssertFalse(one.contains { !$0.isFinite })
            XCTAssertEqual(one, two, "MiniLM last hidden state, 1 × \(T), \(kept) tokens kept")
        }
    }

    func testClassifierFirstTokenLayerSameBitsOnOneAndTwoThreads() throws {
        let config = EncoderConfig(
            vocabSize: 60, hiddenSize: 48, numHiddenLayers: 2, numAttentionHeads: 6, intermediateSize: 96, maxPositionEmbeddings: 32)
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 4)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.2)
        Parallel.threadCount = 2
        model.prepareForInference()
        let T = 21
        let ids = (0..<T).map { _ in Int32(rng.next() % 60) }
        let mask = (0..<T).map { Int32($0 < T - 3 ? 1 : 0) }
        for firstTokenOnly in [true, false] {
            func logits(threads: Int) throws -> [Float] {
                Parallel.threadCount = threads
                let out = try model.forward(
                    inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: T), attentionMask: mask, batch: 1, sequence: T,
                    training: false, firstTokenOnly: firstTokenOnly)
                return Array(UnsafeBufferPointer(start: out.logits!, count: 3))
            }
            XCTAssertEqual(try logits(threads: 1), try logits(threads: 2), "first token only \(firstTokenOnly)")
        }
    }
}

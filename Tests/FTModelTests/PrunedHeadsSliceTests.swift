import FTCore
@testable import FTModel
import TestSupport
import XCTest

/// Batch slices of a model whose layers have different head counts (`pruned_heads`). Inference
/// runs the slices unsynchronised through one layer cache shared by every layer, so one slice can
/// be in a narrow layer while another is in a wide one: their regions of that cache must not
/// overlap whatever the two layers' widths (they did when slices were offset by each layer's own
/// attention width, and `PruningTests.testPrunedModelEqualsMaskedModel` failed now and then on a
/// loaded machine with logits far off).
final class PrunedHeadsSliceTests: XCTestCase {
    /// Widths 4, 12 and 16 of C = 16 (1, 3 and 4 heads of 4).
    static var config: EncoderConfig {
        var config = EncoderConfig(
            vocabSize: 23, hiddenSize: 16, numHiddenLayers: 3, numAttentionHeads: 4,
            intermediateSize: 24, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, maxPositionEmbeddings: 8)
        config.prunedHeads = [0: [0, 1, 2], 1: [3]]
        return config
    }

    /// The floats `[start, end)` of a buffer, as addresses.
    struct Region {
        let start: Int, end: Int
        init(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
            start = Int(bitPattern: pointer)
            end = start + count * MemoryLayout<Float>.stride
        }
        func overlaps(_ other: Region) -> Bool { start < other.end && other.start < end }
    }

    /// Deterministic: every split of the batch into slices, every two slices in any two layers
    /// (first-token rows included: they lie inside the slice's rows) — disjoint qkv and context.
    func testInferenceSlicesInLayersOfDifferentWidthsDoNotOverlap() {
        let config = Self.config, B = 4, T = 4, C = config.hiddenSize, I = config.intermediateSize
        XCTAssertEqual((0..<3).map { config.attentionWidth(layer: $0) }, [4, 12, 16])
        let ws = EncoderWorkspace(config: config, labels: 3, maxBatch: B, maxSequence: T, training: false)
        // Every split of 0..<B into contiguous slices: a cut after row r or not.
        for cuts in 0..<(1 << (B - 1)) {
            var slices: [Range<Int>] = [], start = 0
            for r in 1...B where r == B || cuts & (1 << (r - 1)) != 0 {
                slices.append(start..<r)
                start = r
            }
            func regions(_ slice: Range<Int>, layer l: Int) -> (qkv: Region, context: Region) {
                let A = config.attentionWidth(layer: l), o = slice.lowerBound * T, N = slice.count * T
                let c = ws.sliceCache(l, tokens: o, channels: C, attention: A, intermediate: I, probabilities: slice.lowerBound * T * T)
                return (Region(c.qkv, count: N * 3 * A), Region(c.context, count: N * A))
            }
            for (s, a) in slices.enumerated() {
                for b in slices[(s + 1)...] {
                    for l in 0..<3 {
                        for m in 0..<3 {
                            let x = regions(a, layer: l), y = regions(b, layer: m)
                            XCTAssertFalse(x.qkv.overlaps(y.qkv), "qkv: rows \(a) in layer \(l), rows \(b) in layer \(m)")
                            XCTAssertFalse(x.context.overlaps(y.context), "context: rows \(a) in layer \(l), rows \(b) in layer \(m)")
                        }
                    }
                }
            }
        }
    }

    /// Training keeps a cache per layer, packed as backward reads it: slices follow each other.
    func testTrainingSlicesArePackedPerLayer() {
        let config = Self.config, B = 4, T = 4, C = config.hiddenSize, I = config.intermediateSize
        let ws = EncoderWorkspace(config: config, labels: 3, maxBatch: B, maxSequence: T, training: true)
        for l in 0..<3 {
            let A = config.attentionWidth(layer: l), NH = config.heads(layer: l)
            let c = ws.sliceCache(l, tokens: 2 * T, channels: C, attention: A, intermediate: I, probabilities: 2 * NH * T * T)
            XCTAssertEqual(c.qkv, ws.cache(l).qkv + 2 * T * 3 * A, "layer \(l)")
            XCTAssertEqual(c.context, ws.cache(l).context + 2 * T * A, "layer \(l)")
        }
    }

    /// The race itself, on threads: a pruned model's logits with 4 slices equal those of 1, pass
    /// after pass (narrow and wide layers alternate, so slices are often in layers of different widths).
    func testThreadedInferenceOfAPrunedModelMatchesOneThread() throws {
        var config = EncoderConfig(
            vocabSize: 50, hiddenSize: 32, numHiddenLayers: 6, numAttentionHeads: 4,
            intermediateSize: 48, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, maxPositionEmbeddings: 16)
        config.prunedHeads = [0: [0, 1, 2], 2: [1, 3], 4: [0, 1, 3]]
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 11)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.3)
        let B = 8, T = 16
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let types = [Int32](repeating: 0, count: B * T)
        let mask = (0..<(B * T)).map { Int32($0 % T < T - $0 / T ? 1 : 0) }
        func logits(threads: Int) throws -> [Float] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            let out = try model.forward(inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: false)
            return Array(UnsafeBufferPointer(start: out.logits!, count: B * 3))
        }
        let reference = try logits(threads: 1)
        for pass in 0..<40 {
            assertClose(try logits(threads: 4), reference, atol: 1e-5, rtol: 1e-5, "pass \(pass)")
        }
    }
}

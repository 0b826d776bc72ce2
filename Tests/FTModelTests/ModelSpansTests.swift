import FTCore
@testable import FTModel
import Foundation
import TestSupport
import XCTest

/// The models' per-part spans (`SpanRecordingModel`): embeddings, every layer and the head of each
/// forward and backward, in order, back to back; none below a frozen bottom; and the passes'
/// numbers bit-identical with a recorder and without.
final class ModelSpansTests: XCTestCase {
    /// Keeps every span it is given.
    final class Collector: ModelSpanRecorder, @unchecked Sendable {
        var spans: [(name: String, start: Double, end: Double)] = []
        let lock = NSLock()

        func recordModelSpan(_ part: ModelSpanPart, backward: Bool, from start: Double, to end: Double) {
            lock.lock()
            spans.append(("\(part) \(backward ? "backward" : "forward")", start, end))
            lock.unlock()
        }

        var names: [String] { spans.map(\.name) }

        /// Each span starts where the one before it ended (within a pass) and lasts ≥ 0.
        func assertTiled(_ count: Int, file: StaticString = #filePath, line: UInt = #line) {
            for (i, span) in spans.enumerated() {
                XCTAssertGreaterThanOrEqual(span.end, span.start, span.name, file: file, line: line)
                if i > 0 && i % count != 0 { XCTAssertEqual(span.start, spans[i - 1].end, span.name, file: file, line: line) }
            }
        }
    }

    func encoder() throws -> EncoderModel {
        var config = EncoderConfig(
            vocabSize: 50, hiddenSize: 32, numHiddenLayers: 3, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 16)
        config.hiddenDropoutProb = 0.1
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 3)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.2)
        return model
    }

    /// A training forward and backward over (6, 8); the logits and every gradient.
    func step(_ model: any SequenceModel, threads: Int = 2) throws -> [Float] {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        let B = 6, T = 8
        var rng = SeededRNG(seed: 8)
        let ids = (0..<(B * T)).map { _ in Int32(1 + rng.next() % 40) }
        let zeros = [Int32](repeating: 0, count: B * T), mask = [Int32](repeating: 1, count: B * T)
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: zeros, attentionMask: mask, batch: B, sequence: T, training: true, dropoutSeed: 5,
            firstTokenOnly: false)
        let count = B * (model.numLabels > 0 ? model.numLabels : T * model.vocabularySize)
        let logits = Array(UnsafeBufferPointer(start: out.logits!, count: count))
        model.store.zeroGradients()
        model.backward(dLogits: testValues(count, seed: 9), dPooled: nil, dLastHiddenState: nil, gradientsReady: nil)
        return logits + Array(model.store.gradients)
    }

    /// A step without a recorder, then one with `model`'s recorder a new collector (the numbers
    /// must not change); the collector holds the second step's spans.
    func recordedStep(_ model: any SequenceModel & SpanRecordingModel) throws -> Collector {
        let plain = try step(model)
        let collector = Collector()
        model.spanRecorder = collector
        XCTAssertEqual(try step(model), plain, "recording changes no number")
        return collector
    }

    /// The spans of a forward then backward through `layers` layers.
    func passes(layers: Int) -> [String] {
        ["embeddings forward"] + (0..<layers).map { "layer \($0) forward" } + ["head forward", "head backward"]
            + (0..<layers).reversed().map { "layer \($0) backward" } + ["embeddings backward"]
    }

    func testEncoderSpansEveryPartInOrder() throws {
        let model = try encoder()
        let collector = try recordedStep(model)
        XCTAssertEqual(collector.names, passes(layers: 3), "the forward's spans are its first batch slice's, once")
        collector.assertTiled(5)

        // Frozen embeddings and layer 0: no backward below layer 1.
        collector.spans = []
        model.setTrainable { !$0.contains("embeddings") && !$0.contains("layer.0.") }
        _ = try step(model)
        XCTAssertEqual(collector.names.suffix(3), ["head backward", "layer 2 backward", "layer 1 backward"])
        model.spanRecorder = nil
        collector.spans = []
        _ = try step(model)
        XCTAssertTrue(collector.spans.isEmpty)
    }

    func testLlamaSpansEveryPartInOrder() throws {
        let model = try LlamaFixtures.model()
        let collector = try recordedStep(model)
        XCTAssertEqual(collector.names, passes(layers: 2))
        collector.assertTiled(4)

        // Only the final norm and the last layer train: the backward stops after layer 1.
        collector.spans = []
        model.setTrainable { $0.hasPrefix("model.layers.1.") || $0 == "model.norm.weight" }
        _ = try step(model)
        XCTAssertEqual(collector.names.suffix(2), ["head backward", "layer 1 backward"])
    }
}

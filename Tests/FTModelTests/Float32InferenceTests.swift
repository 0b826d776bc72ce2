import FTCore
import Foundation
@testable import FTModel
import TestSupport
import XCTest

/// `EncoderModel.prepareForInference` (the layers' products on `PreparedLinear`, what predict,
/// embed and serve run) against the OpenBLAS path it replaces: the same logits and hidden states
/// within 1e-5 (float32 re-association only), on a small random model (padding, 1 and 6
/// sequences, 1 and 2 threads, first-token layer or not) and on all-MiniLM-L6-v2; training
/// forwards untouched; `FTTRAIN_FLOAT32_KERNEL=openblas` keeps OpenBLAS; overwritten weights
/// (an adapter activated) prepared again.
final class Float32InferenceTests: XCTestCase {
    static let T = 16, labels = 3

    func model() throws -> EncoderModel {
        let config = EncoderConfig(
            vocabSize: 50, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 16)
        let model = try EncoderModel(config: config, numLabels: Self.labels)
        var rng = SeededRNG(seed: 3)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.2)
        return model
    }

    /// Logits and last hidden state of a forward over `B` sequences (sequence b has T − b tokens).
    func run(
        _ model: EncoderModel, batch B: Int, training: Bool = false, firstTokenOnly: Bool = false, threads: Int = 2
    ) throws -> (logits: [Float], hidden: [Float]) {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        let T = Self.T
        var rng = SeededRNG(seed: 8)
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let mask = (0..<(B * T)).map { Int32($0 % T < T - $0 / T ? 1 : 0) }
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: B * T), attentionMask: mask, batch: B, sequence: T,
            training: training, dropoutSeed: 42, firstTokenOnly: firstTokenOnly)
        let hidden = firstTokenOnly ? [] : Array(UnsafeBufferPointer(start: out.lastHiddenState, count: B * T * model.config.hiddenSize))
        return (Array(UnsafeBufferPointer(start: out.logits!, count: B * Self.labels)), hidden)
    }

    func testPreparedInferenceMatchesOpenBLAS() throws {
        let model = try model()
        for threads in [1, 2] {
            for B in [1, 6] {
                for firstTokenOnly in [false, true] {
                    model.dropInferencePreparation()
                    let reference = try run(model, batch: B, firstTokenOnly: firstTokenOnly, threads: threads)
                    Parallel.threadCount = threads  // the parts follow the thread count at preparation
                    model.prepareForInference()
                    Parallel.threadCount = 2
                    XCTAssertTrue(model.isPreparedForInference)
                    let prepared = try run(model, batch: B, firstTokenOnly: firstTokenOnly, threads: threads)
                    let name = "B \(B), \(threads) threads, first token only \(firstTokenOnly)"
                    assertClose(prepared.logits, reference.logits, atol: 1e-5, rtol: 1e-5, "logits, " + name)
                    assertClose(prepared.hidden, reference.hidden, atol: 1e-5, rtol: 1e-5, "hidden state, " + name)
                }
            }
        }
    }

    /// Training forwards keep OpenBLAS: bit for bit what an unprepared model computes.
    func testTrainingForwardIgnoresPreparedWeights() throws {
        let plain = try model(), prepared = try model()
        prepared.prepareForInference()
        XCTAssertTrue(prepared.isPreparedForInference)
        let a = try run(plain, batch: 6, training: true), b = try run(prepared, batch: 6, training: true)
        XCTAssertEqual(a.logits, b.logits)
        XCTAssertEqual(a.hidden, b.hidden)
    }

    func testEnvironmentKeepsOpenBLAS() throws {
        let model = try model()
        setenv("FTTRAIN_FLOAT32_KERNEL", "openblas", 1)
        defer { unsetenv("FTTRAIN_FLOAT32_KERNEL") }
        model.prepareForInference()
        XCTAssertFalse(model.isPreparedForInference)
        unsetenv("FTTRAIN_FLOAT32_KERNEL")
        model.prepareForInference()
        XCTAssertTrue(model.isPreparedForInference)
    }

    /// Prepared weights are a snapshot; `inferenceWeightsWritten` (called by `AdapterSet.activate`)
    /// makes them again when a product weight was overwritten.
    func testOverwrittenWeightsArePreparedAgain() throws {
        let model = try model()
        model.prepareForInference()
        let name = model.config.family.names.layer(1) + model.config.family.names.layerModules[4] + ".weight"  // intermediate
        let view = model.store.value(name)
        for i in 0..<model.store.view(name).count { view[i] *= -0.5 }
        model.inferenceWeightsWritten(["classifier.bias", name])
        let prepared = try run(model, batch: 6)
        model.dropInferencePreparation()
        let reference = try run(model, batch: 6)
        assertClose(prepared.logits, reference.logits, atol: 1e-5, rtol: 1e-5, "logits after the intermediate weight changed")
        XCTAssertGreaterThan(zip(prepared.logits, try run(try self.model(), batch: 6).logits).map { abs($0 - $1) }.max()!, 1e-3)
    }

    /// all-MiniLM-L6-v2: one 16-token text (the serving case) and a padded batch of four.
    func testRealModelPreparedMatchesOpenBLAS() throws {
        let model = try XCTUnwrap(ModelRegistry.load(modelDirectory: try TestAssets.realModelDirectory()) as? EncoderModel)
        let C = model.config.hiddenSize
        for (B, T) in [(1, 16), (4, 24)] {
            var rng = SeededRNG(seed: 11)
            let ids = (0..<(B * T)).map { _ in Int32(1000 + rng.next() % 20000) }
            let mask = (0..<(B * T)).map { Int32($0 % T < T - 3 * ($0 / T) ? 1 : 0) }
            func hidden() throws -> [Float] {
                let out = try model.forward(
                    inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: B * T), attentionMask: mask, batch: B, sequence: T,
                    training: false)
                return Array(UnsafeBufferPointer(start: out.lastHiddenState, count: B * T * C))
            }
            model.dropInferencePreparation()
            let reference = try hidden()
            model.prepareForInference()
            XCTAssertTrue(model.isPreparedForInference)
            assertClose(try hidden(), reference, atol: 1e-5, rtol: 1e-5, "MiniLM last hidden state, \(B) × \(T)")
        }
    }
}

import FTCore
@testable import FTModel
import TestSupport
import XCTest

/// `forward(firstTokenOnly: true)`: the last layer for each sequence's first row only gives the
/// logits and every gradient of the full pass (dropout, padding, batch slices, LoRA on q/v).
final class FirstTokenLayerTests: XCTestCase {
    static let B = 6, T = 16, labels = 3

    static var config: EncoderConfig {
        var config = EncoderConfig(
            vocabSize: 50, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
            intermediateSize: 64, maxPositionEmbeddings: 16)
        config.hiddenDropoutProb = 0.1
        config.attentionProbsDropoutProb = 0.1
        return config
    }

    func model(lora: LoRAConfiguration? = nil) throws -> EncoderModel {
        let model = try EncoderModel(config: Self.config, numLabels: Self.labels, peft: lora.map { PEFTSetup(lora: $0) })
        var rng = SeededRNG(seed: 3)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.2)
        return model
    }

    /// Logits of a forward, and the gradients of a backward from `dLogits` when training.
    func run(_ model: EncoderModel, firstTokenOnly: Bool, training: Bool, threads: Int) throws -> (logits: [Float], gradients: [Float]) {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        let (B, T) = (Self.B, Self.T)
        var rng = SeededRNG(seed: 8)
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let types = [Int32](repeating: 0, count: B * T)
        let mask = (0..<(B * T)).map { Int32($0 % T < T - $0 / T ? 1 : 0) }  // sequence b has T − b tokens
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T,
            training: training, dropoutSeed: 42, firstTokenOnly: firstTokenOnly)
        let logits = Array(UnsafeBufferPointer(start: out.logits!, count: B * Self.labels))
        guard training else { return (logits, []) }
        model.store.zeroGradients()
        model.backward(dLogits: testValues(B * Self.labels, seed: 9))
        return (logits, Array(model.store.gradients))
    }

    func testFirstTokensGiveTheFullLogitsAndGradients() throws {
        let model = try model()
        XCTAssertTrue(model.computesFirstTokensOnly)
        for threads in [1, 2] {
            for training in [true, false] {
                let full = try run(model, firstTokenOnly: false, training: training, threads: threads)
                let first = try run(model, firstTokenOnly: true, training: training, threads: threads)
                assertClose(first.logits, full.logits, atol: 1e-6, rtol: 1e-5, "logits, \(threads) threads, training \(training)")
                assertClose(first.gradients, full.gradients, atol: 1e-6, rtol: 1e-4, "gradients, \(threads) threads")
            }
        }
        // The last layer's keys, values and feed-forward block all get gradients.
        _ = try run(model, firstTokenOnly: true, training: true, threads: 2)
        for name in [
            "encoder.layer.1.attention.self.key.weight", "encoder.layer.1.attention.self.value.weight",
            "encoder.layer.1.intermediate.dense.weight", "encoder.layer.0.attention.self.query.weight",
        ] {
            XCTAssertGreaterThan(model.store.gradientArray(name).map(abs).max() ?? 0, 1e-4, name)
        }
    }

    /// Inference on its own workspace, where every layer shares one cache: batch slices run their
    /// layers unsynchronised, so one slice's first-token rows must not land in another's rows.
    func testInferenceSlicesKeepToTheirOwnRows() throws {
        let full = try run(model(), firstTokenOnly: false, training: false, threads: 4)
        for _ in 0..<20 {
            let first = try run(model(), firstTokenOnly: true, training: false, threads: 4)
            assertClose(first.logits, full.logits, atol: 1e-6, rtol: 1e-5, "inference logits, 4 threads")
        }
    }

    /// Finite differences of the logits' loss through the first-token layer, with dropout.
    func testFirstTokenGradientCheck() throws {
        var config = EncoderConfig(
            vocabSize: 11, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2,
            intermediateSize: 12, maxPositionEmbeddings: 6)
        config.hiddenDropoutProb = 0.2
        config.attentionProbsDropoutProb = 0.2
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 4)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        let ids: [Int32] = [2, 5, 7, 1, 3, 9, 4, 0], types = [Int32](repeating: 0, count: 8)
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 0]
        let projection = LossProjection(count: 6, seed: 9)
        func loss() -> Double {
            let out = try! model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
                training: true, dropoutSeed: 123, firstTokenOnly: true)
            return projection.loss(out.logits!)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(dLogits: projection.weights)
        for view in model.store.views {
            GradientCheck.check(
                view.name, parameter: model.store.value(view.name), count: view.count,
                analytic: model.store.gradientArray(view.name), loss: loss)
        }
    }

    /// LoRA on query and value runs first-token only and equals the full pass; LoRA on the
    /// feed-forward block keeps the full last layer.
    func testLoRAOnQueryAndValueAndFallbackForOtherModules() throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.2)
        let qv = try model(lora: lora)
        qv.setTrainable { lora.isTrainable($0) }
        XCTAssertTrue(qv.computesFirstTokensOnly)
        let full = try run(qv, firstTokenOnly: false, training: true, threads: 2)
        let first = try run(qv, firstTokenOnly: true, training: true, threads: 2)
        assertClose(first.logits, full.logits, atol: 1e-6, rtol: 1e-5, "LoRA logits")
        assertClose(first.gradients, full.gradients, atol: 1e-6, rtol: 1e-4, "LoRA gradients")
        XCTAssertGreaterThan(first.gradients.map(abs).max() ?? 0, 0)

        let feedForward = try model(lora: LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["query", "intermediate.dense"]))
        XCTAssertFalse(feedForward.computesFirstTokensOnly)
    }
}

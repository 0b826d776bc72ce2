import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Bottleneck adapters after the feed-forward block: a fresh adapter is the identity, the
/// backward passes a finite-difference check, and the adapters can be trained alone.
final class BottleneckAdapterTests: XCTestCase {
    let config = EncoderConfig(
        vocabSize: 11, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
        intermediateSize: 12, maxPositionEmbeddings: 6)
    let ids: [Int32] = [2, 5, 7, 1, 3, 9, 0, 0], types: [Int32] = [0, 0, 1, 1, 0, 0, 0, 0]
    let mask: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0]

    func model(bottleneck: BottleneckConfiguration?) throws -> EncoderModel {
        let model = try EncoderModel(config: config, numLabels: 3, peft: bottleneck.map { PEFTSetup(bottleneck: $0) })
        var rng = SeededRNG(seed: 3)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5, only: Set(model.baseTensorNames))
        var adapterRNG = SeededRNG(seed: 4)
        model.peft?.bottleneck?.initialize(rng: &adapterRNG)
        return model
    }

    func outputs(_ model: EncoderModel, training: Bool = false) throws -> [Float] {
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
            training: training, dropoutSeed: 7)
        return Array(UnsafeBufferPointer(start: out.lastHiddenState, count: 2 * 4 * 8))
            + Array(UnsafeBufferPointer(start: out.logits!, count: 2 * 3))
    }

    func testLayoutAndFreshAdapterIsTheIdentity() throws {
        let adapted = try model(bottleneck: BottleneckConfiguration(reductionFactor: 4))
        XCTAssertEqual(adapted.store.view("encoder.layer.1.output.adapter.down.weight").shape, [2, 8], "m = 8 / 4")
        XCTAssertEqual(adapted.store.view("encoder.layer.1.output.adapter.up.weight").shape, [8, 2])
        XCTAssertTrue(adapted.store.valueArray("encoder.layer.0.output.adapter.down.weight").contains { $0 != 0 })
        XCTAssertEqual(try outputs(adapted), try outputs(model(bottleneck: nil)), "up = 0: bit-identical outputs")
        adapted.store.value("encoder.layer.1.output.adapter.up.bias")[0] = 0.5
        XCTAssertNotEqual(try outputs(adapted), try outputs(model(bottleneck: nil)), "a trained adapter changes the outputs")
    }

    func testBackwardPassesAGradientCheckWithTheAdaptersTrainedAlone() throws {
        let model = try model(bottleneck: BottleneckConfiguration(reductionFactor: 2))
        var rng = SeededRNG(seed: 9)
        for view in model.store.views where view.name.contains(".adapter.") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.5 * rng.nextNormal() }
        }
        model.setTrainable { $0.contains(".adapter.") || $0.hasPrefix("classifier.") }
        XCTAssertEqual(model.store.trainableCount, 2 * (4 * 8 + 4 + 8 * 4 + 8) + 27)
        let hiddenProjection = LossProjection(count: 2 * 4 * 8, seed: 31)
        let logitProjection = LossProjection(count: 2 * 3, seed: 32)
        func loss() -> Double {
            let out = try! model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
                training: true, dropoutSeed: 13)
            return hiddenProjection.loss(out.lastHiddenState) + logitProjection.loss(out.logits!)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(dLogits: logitProjection.weights, dLastHiddenState: hiddenProjection.weights)
        XCTAssertTrue(
            model.store.gradientArray("encoder.layer.0.output.adapter.down.weight").contains { abs($0) > 1e-3 },
            "the adapters receive gradients")
        for view in model.store.trainableViews {
            GradientCheck.check(
                view.name, parameter: model.store.value(view.name), count: view.count,
                analytic: model.store.gradientArray(view.name), h: 3e-3, loss: loss)
        }
    }

    /// Against PyTorch (scripts/reference/make_bottleneck_reference.py): the same adapters written
    /// into Hugging Face's BERT give the same logits and loss (atol 1e-5, rtol 1e-5) and the same
    /// gradients for the adapters and the head (atol 1e-5, rtol 1e-4).
    func testMatchesPyTorch() throws {
        let url = try XCTUnwrap(
            Bundle.module.url(
                forResource: "bottleneck_tiny_reference", withExtension: "safetensors",
                subdirectory: "Fixtures"))
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(file.metadata["format_version"], "1")
        let config = try JSONDecoder().decode(EncoderConfig.self, from: XCTUnwrap(file.metadata["config"]?.data(using: .utf8)))
        let bottleneck = BottleneckConfiguration(reductionFactor: 4)
        let model = try EncoderModel(config: config, numLabels: 3, peft: PEFTSetup(bottleneck: bottleneck))
        XCTAssertEqual(try model.load(from: file), [])
        for view in model.store.views where BottleneckAdapters.isAdapterTensor(view.name) {
            try file.copyFloats("bert." + view.name, into: UnsafeMutableBufferPointer(start: model.store.value(view.name), count: view.count))
        }
        model.setTrainable { bottleneck.isTrainable($0) }
        let ids = try file.int64s("input.input_ids").map(Int32.init), types = try file.int64s("input.token_type_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init), labels = try file.int64s("input.labels").map(Int32.init)
        let out = try model.forward(inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 3, sequence: 7, training: true)
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: 9))
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        var dLogits = [Float](repeating: 0, count: 9)
        let loss = SoftmaxCrossEntropy.forward(logits: logits, labels: labels, batch: 3, classes: 3, dLogits: &dLogits)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")
        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        let trainable = model.store.trainableViews
        XCTAssertEqual(trainable.count, 2 * 4 + 2)
        for view in trainable {
            let name = "grad." + (view.name.hasPrefix("classifier.") ? view.name : "bert." + view.name)
            assertClose(model.store.gradientArray(view.name), try file.floats(name), atol: 1e-5, rtol: 1e-4, name)
        }
    }
}

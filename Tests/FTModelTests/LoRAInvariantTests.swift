import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// PEFT's own invariants (design.md §3.7): B = 0 gives the base model exactly; merged equals
/// unmerged; frozen weights get no gradient; and the LoRA backward (dropout included) passes a
/// finite-difference check.
final class LoRAInvariantTests: XCTestCase {
    let config = EncoderConfig(
        vocabSize: 11, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
        intermediateSize: 12, maxPositionEmbeddings: 6)
    let ids: [Int32] = [2, 5, 7, 1, 3, 9, 0, 0], types: [Int32] = [0, 0, 1, 1, 0, 0, 0, 0]
    let mask: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0]

    /// A random model with a head; with `lora`, PEFT-initialised branches (B = 0) on the same base.
    func model(lora: LoRAConfiguration?, seed: UInt64 = 3) throws -> EncoderModel {
        let model = try EncoderModel(config: config, numLabels: 3, peft: lora.map { PEFTSetup(lora: $0) })
        var rng = SeededRNG(seed: seed)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5, only: Set(model.baseTensorNames))
        if let layers = model.peft?.lora {
            var loraRNG = SeededRNG(seed: 99)
            layers.initialize(rng: &loraRNG)
            model.setTrainable { layers.configuration.isTrainable($0) }
        }
        return model
    }

    func outputs(_ model: EncoderModel, training: Bool = false) throws -> [Float] {
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
            training: training, dropoutSeed: 7)
        return Array(UnsafeBufferPointer(start: out.lastHiddenState, count: 2 * 4 * 8))
            + Array(UnsafeBufferPointer(start: out.logits!, count: 2 * 3))
    }

    static let everyModule = LoRAConfiguration(rank: 3, alpha: 5, targetModules: ["query", "key", "value", "output.dense", "intermediate.dense"])

    func testZeroBGivesTheBaseModelExactly() throws {
        let base = try outputs(model(lora: nil))
        let adapted = try model(lora: Self.everyModule)
        let a = adapted.store.valueArray("encoder.layer.1.attention.self.value.lora_A.weight")
        XCTAssertTrue(a.contains { $0 != 0 }, "A is initialised, B is zero")
        XCTAssertTrue(a.allSatisfy { abs($0) <= 1 / Float(8).squareRoot() }, "A ~ U(-1/sqrt(in), 1/sqrt(in))")
        XCTAssertEqual(try outputs(adapted), base, "B = 0: bit-identical outputs")
    }

    func testMergedEqualsUnmergedAndUnmergeRestoresTheBase() throws {
        let model = try model(lora: Self.everyModule)
        var rng = SeededRNG(seed: 5)
        for view in model.store.views where view.name.contains("lora_B") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.3 * rng.nextNormal() }
        }
        let layers = try XCTUnwrap(model.peft?.lora)
        let weightName = "encoder.layer.0.attention.self.key.weight"
        let baseWeight = model.store.valueArray(weightName)
        let unmerged = try outputs(model)
        layers.merge()
        XCTAssertTrue(layers.isMerged)
        XCTAssertGreaterThan(maxAbsDifference(model.store.valueArray(weightName), baseWeight), 1e-3, "the key weight changed")
        assertClose(try outputs(model), unmerged, atol: 1e-5, rtol: 1e-5, "merged outputs")
        layers.unmerge()
        assertClose(model.store.valueArray(weightName), baseWeight, atol: 1e-6, rtol: 0, "unmerged weight")
        assertClose(try outputs(model), unmerged, atol: 1e-6, rtol: 1e-6, "unmerged outputs")
    }

    func testFrozenWeightsHaveNoGradientStorage() throws {
        let model = try model(lora: LoRAConfiguration(rank: 2, alpha: 4))  // PEFT's defaults: query, value, head
        let store = model.store
        for view in store.views {
            let trainable = view.name.contains("lora_") || view.name.hasPrefix("classifier.")
            XCTAssertEqual(store.gradient(view.name) != nil, trainable, view.name)
        }
        // 2 layers × (query, value) × (A 2×8 + B 8×2) + head 3×8 + 3
        XCTAssertEqual(store.trainableCount, 2 * 2 * 32 + 27)
        XCTAssertEqual(store.gradients.count, store.trainableCount, "the gradient buffer holds the trainable part only")
        XCTAssertEqual(store.gradientSpan(prefix: "encoder.layer.0."), 0..<64, "layer 0: query A, B then value A, B")
        XCTAssertEqual(store.gradientSpan(prefix: "encoder.layer.1."), 64..<128)
        XCTAssertEqual(store.gradientSpan(prefix: "classifier."), 128..<155)
        XCTAssertNil(store.gradientSpan(prefix: "embeddings."))
        let packed = store.trainableViews.compactMap(\.gradientRange)
        XCTAssertEqual(packed.first?.lowerBound, 0)
        XCTAssertEqual(zip(packed, packed.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, true, "packed in layout order")
        _ = try outputs(model, training: true)
        model.store.zeroGradients()
        model.backward(dLogits: [Float](repeating: 0.1, count: 6))
        XCTAssertTrue(
            store.gradientArray("encoder.layer.0.attention.self.query.lora_A.weight").allSatisfy { $0 == 0 },
            "with B = 0 A gets no gradient, but B does")
        XCTAssertTrue(store.gradientArray("encoder.layer.0.attention.self.query.lora_B.weight").contains { $0 != 0 })
    }

    /// Finite differences through every LoRA path: all six modules, dropout on the branch input,
    /// rsLoRA scaling, bias `lora_only` on part of the fused QKV product, all three upstream gradients.
    func testLoRABackwardPassesAGradientCheck() throws {
        let lora = LoRAConfiguration(
            rank: 2, alpha: 3, dropout: 0.3, targetModules: ["key", "value", "output.dense", "intermediate.dense"],
            useRSLoRA: true, bias: .loraOnly)
        let model = try model(lora: lora)
        var rng = SeededRNG(seed: 8)
        for view in model.store.views where view.name.contains("lora_B") || view.name.hasSuffix("bias") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.4 * rng.nextNormal() }
        }
        XCTAssertNil(model.store.gradient("encoder.layer.0.attention.self.query.bias"))
        XCTAssertNotNil(model.store.gradient("encoder.layer.0.attention.self.key.bias"))
        let hiddenProjection = LossProjection(count: 2 * 4 * 8, seed: 21)
        let logitProjection = LossProjection(count: 2 * 3, seed: 23)
        func loss() -> Double {
            let out = try! model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
                training: true, dropoutSeed: 11)
            return hiddenProjection.loss(out.lastHiddenState) + logitProjection.loss(out.logits!)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(dLogits: logitProjection.weights, dLastHiddenState: hiddenProjection.weights)
        for view in model.store.trainableViews {
            // A smaller step than the default: the branches make this loss strongly curved.
            GradientCheck.check(
                view.name, parameter: model.store.value(view.name), count: view.count,
                analytic: model.store.gradientArray(view.name), h: 3e-3, loss: loss)
        }
    }

    func testFrozenLowerLayersAreSkippedInBackward() throws {
        let full = try model(lora: nil), frozen = try model(lora: nil)
        frozen.setTrainable { !$0.hasPrefix("embeddings.") && !$0.hasPrefix("encoder.layer.0.") }
        for m in [full, frozen] {
            _ = try outputs(m, training: true)
            m.store.zeroGradients()
            m.backward(dLogits: [0.2, -0.1, 0.3, 0.1, 0.0, -0.4])
        }
        XCTAssertNil(frozen.store.gradient("encoder.layer.0.output.dense.weight"))
        XCTAssertNil(frozen.store.gradient("embeddings.word_embeddings.weight"))
        for view in frozen.store.trainableViews {
            XCTAssertEqual(frozen.store.gradientArray(view.name), full.store.gradientArray(view.name), view.name)
        }
    }
}

/// LoRA on `dense` reaches the pooler too, as in PEFT: its branch trains, merges and passes finite differences.
final class LoRAPoolerTests: XCTestCase {
    func testDenseTargetWrapsThePooler() throws {
        let config = EncoderConfig(
            vocabSize: 11, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
            intermediateSize: 12, maxPositionEmbeddings: 6)
        let lora = LoRAConfiguration(rank: 2, alpha: 2, dropout: 0.2, targetModules: ["dense"], bias: .loraOnly)
        XCTAssertEqual(lora.problems, [])
        let model = try EncoderModel(config: config, numLabels: 3, peft: PEFTSetup(lora: lora))
        XCTAssertEqual(model.peft?.lora?.targets.map(\.count), [3, 3, 1], "attention.output, intermediate, output dense; the pooler")
        XCTAssertEqual(model.store.view("pooler.dense.lora_B.weight").shape, [8, 2])
        XCTAssertEqual(
            PEFTAdapter.savedName("pooler.dense.lora_A.weight", lora: lora),
            "base_model.model.bert.pooler.dense.lora_A.weight")
        XCTAssertEqual(PEFTAdapter.savedName("pooler.dense.bias", lora: lora), "base_model.model.bert.pooler.dense.base_layer.bias")
        var rng = SeededRNG(seed: 3)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        for view in model.store.views where view.name.contains("lora_") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.4 * rng.nextNormal() }
        }
        model.setTrainable { lora.isTrainable($0) }
        XCTAssertNotNil(model.store.gradient("pooler.dense.bias"))
        let ids: [Int32] = [2, 5, 7, 1, 3, 9, 0, 0], types = [Int32](repeating: 0, count: 8), mask: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0]
        let logitProjection = LossProjection(count: 6, seed: 41), pooledProjection = LossProjection(count: 16, seed: 42)
        func loss(training: Bool = true) -> Double {
            let out = try! model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4,
                training: training, dropoutSeed: 5)
            return logitProjection.loss(out.logits!) + pooledProjection.loss(out.pooled!)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(dLogits: logitProjection.weights, dPooled: pooledProjection.weights)
        for name in [
            "pooler.dense.lora_A.weight", "pooler.dense.lora_B.weight", "pooler.dense.bias",
            "encoder.layer.0.intermediate.dense.lora_A.weight",
        ] {
            GradientCheck.check(
                name, parameter: model.store.value(name), count: model.store.view(name).count,
                analytic: model.store.gradientArray(name), h: 3e-3, loss: { loss() })
        }
        let unmerged = loss(training: false)
        model.peft!.lora!.merge()
        XCTAssertEqual(loss(training: false), unmerged, accuracy: 1e-5, "merged equals unmerged, pooler included")
    }
}

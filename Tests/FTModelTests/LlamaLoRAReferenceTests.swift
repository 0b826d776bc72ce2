import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The tiny Llama wrapped by PEFT's LoRA on every linear module of a layer (CAUSAL_LM, r 4,
/// alpha 8), matched against PyTorch + PEFT (scripts/reference/make_llama_reference.py): logits
/// and loss `atol 1e-5, rtol 1e-5`, A and B gradients `atol 1e-5, rtol 1e-4`.
final class LlamaLoRAReferenceTests: XCTestCase {
    static let targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    /// The tiny model with PEFT's adapter loaded and only A and B trainable.
    func loraModel() throws -> LlamaModel {
        let lora = LoRAConfiguration(rank: 4, alpha: 8, dropout: 0, targetModules: Self.targets, modulesToSave: [])
        let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
        let adapter = try SafeTensorsFile(
            path: try LlamaFixtures.url("llama_lora_tiny_adapter").appendingPathComponent("adapter_model.safetensors").path)
        var loaded = 0
        for view in model.store.views where LoRALayers.isLoRATensor(view.name) {
            try adapter.copyFloats(
                "base_model.model." + view.name, into: UnsafeMutableBufferPointer(start: model.store.value(view.name), count: view.count))
            loaded += 1
        }
        XCTAssertEqual(loaded, adapter.tensors.count, "every adapter tensor has a place in the model")
        XCTAssertEqual(loaded, 2 * 7 * 2)
        model.setTrainable { LoRALayers.isLoRATensor($0) }
        return model
    }

    func testLoRAForwardAndBackwardMatchPEFT() throws {
        let file = try LlamaFixtures.reference("llama_lora_tiny_reference")
        let inputs = try LlamaFixtures.reference("llama_tiny_reference")
        let model = try loraModel()
        XCTAssertEqual(model.store.trainableCount, Int(file.metadata["trainable_params"] ?? ""))
        XCTAssertEqual(model.store.count, Int(file.metadata["all_params"] ?? ""))
        let ids = try inputs.int64s("input.input_ids").map(Int32.init)
        let mask = try inputs.int64s("input.attention_mask").map(Int32.init)
        let labels = try inputs.int64s("input.labels")
        let (B, T, V) = (2, ids.count / 2, model.config.vocabSize)
        let logits = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: B, sequence: T, training: true)
        assertClose(Array(UnsafeBufferPointer(start: logits, count: B * T * V)), try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        let (loss, dLogits) = nextTokenCrossEntropy(logits: logits, labels: labels, batch: B, sequence: T, vocabulary: V)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")
        model.backwardLogits(dLogits: dLogits)
        var checked = 0
        for view in model.store.trainableViews {
            assertClose(
                model.store.gradientArray(view.name), try file.floats("grad.base_model.model." + view.name), atol: 1e-5, rtol: 1e-4,
                view.name)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count)
    }

    func testMergeGivesTheSameLogitsAndUnmergeRestores() throws {
        let file = try LlamaFixtures.reference("llama_lora_tiny_reference")
        let inputs = try LlamaFixtures.reference("llama_tiny_reference")
        let model = try loraModel()
        let lora = try XCTUnwrap(model.lora)
        let ids = try inputs.int64s("input.input_ids").map(Int32.init)
        let mask = try inputs.int64s("input.attention_mask").map(Int32.init)
        let (B, T, V) = (2, ids.count / 2, model.config.vocabSize)
        let before = model.store.valueArray("model.layers.1.mlp.down_proj.weight")
        lora.merge()
        XCTAssertTrue(lora.isMerged)
        let logits = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: B, sequence: T, training: false)
        assertClose(
            Array(UnsafeBufferPointer(start: logits, count: B * T * V)), try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "merged logits")
        lora.unmerge()
        assertClose(model.store.valueArray("model.layers.1.mlp.down_proj.weight"), before, atol: 1e-6, rtol: 1e-6, "unmerged weight")
    }

    func testInitializationStartsAtTheBaseModel() throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["q_proj", "down_proj"], modulesToSave: [])
        let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 3, stream: 0)
        try XCTUnwrap(model.lora).initialize(rng: &rng)
        let a = model.store.valueArray("model.layers.0.self_attn.q_proj.lora_A.weight")
        XCTAssertTrue(a.contains { $0 != 0 })
        XCTAssertTrue(a.allSatisfy { abs($0) <= 1 / Float(32).squareRoot() })
        XCTAssertTrue(model.store.valueArray("model.layers.1.mlp.down_proj.lora_B.weight").allSatisfy { $0 == 0 })
        XCTAssertFalse(model.store.contains("model.layers.0.self_attn.k_proj.lora_A.weight"))
        XCTAssertThrowsError(
            try LlamaFixtures.model(peft: PEFTSetup(lora: LoRAConfiguration(targetModules: ["query"], modulesToSave: [])))
        ) { XCTAssertTrue("\($0)".contains("q_proj")) }
    }

    /// lora_dropout: a training pass drops inputs of the branches (same mask for a given seed), and
    /// its backward is the gradient of that pass (finite differences over A and B of one module).
    func testLoRADropoutGradientsByFiniteDifferences() throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.3, targetModules: ["v_proj"], modulesToSave: [])
        let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 5, stream: 0)
        try XCTUnwrap(model.lora).initialize(rng: &rng)
        let bName = "model.layers.0.self_attn.v_proj.lora_B.weight", aName = "model.layers.0.self_attn.v_proj.lora_A.weight"
        let b = model.store.value(bName)
        for i in 0..<model.store.view(bName).count { b[i] = 0.3 * Float(i % 5 - 2) }
        model.setTrainable { LoRALayers.isLoRATensor($0) }
        let ids: [Int32] = [4, 8, 15, 16, 23, 42, 7, 9], mask = [Int32](repeating: 1, count: 8)
        let V = model.config.vocabSize
        let projection = LossProjection(count: 8 * V, seed: 11)
        func loss(training: Bool = true) -> Double {
            let logits = try! model.forwardLogits(inputIds: ids, attentionMask: mask, batch: 1, sequence: 8, training: training, dropoutSeed: 77)
            return projection.loss(logits)
        }
        XCTAssertNotEqual(loss(training: true), loss(training: false), "dropout changes a training pass")
        _ = loss()
        model.store.zeroGradients()
        model.backwardLogits(dLogits: projection.weights)
        for name in [aName, bName] {
            GradientCheck.check(
                name, parameter: model.store.value(name), count: model.store.view(name).count, analytic: model.store.gradientArray(name),
                loss: { loss() })
        }
    }
}

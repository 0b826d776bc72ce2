import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The Llama behind the generalised model interface: the registry, its tensor naming, PEFT's
/// CAUSAL_LM adapter files (read, applied, written under PEFT's names), LoRA validation and the
/// FLOP count of the PyTorch anchor.
final class LlamaInterfaceTests: XCTestCase {
    func testRegistryLoadsLlamaDirectories() throws {
        let directory = try LlamaFixtures.url("llama_tiny")
        let model = try ModelRegistry.load(modelDirectory: directory)
        let llama = try XCTUnwrap(model as? LlamaModel)
        XCTAssertTrue(model is any CausalLanguageModel)
        XCTAssertEqual(model.architectureName, "LlamaForCausalLM")
        XCTAssertEqual(model.layerCount, 2)
        XCTAssertEqual(model.vocabularySize, 97)
        XCTAssertEqual(llama.store.valueArray("model.norm.weight"), try LlamaFixtures.model().store.valueArray("model.norm.weight"))
        XCTAssertTrue(try ModelRegistry.loadCausalLanguageModel(path: directory.path) is LlamaModel)
        XCTAssertNil(try ModelRegistry.loadCausalLanguageModel(path: "/nowhere"))
        XCTAssertThrowsError(try ModelRegistry.load(modelDirectory: directory, numLabels: 2)) {
            XCTAssertTrue("\($0)".contains("LlamaForSequenceClassification"))
        }
        // The interface's forward gives the same logits as the model's own.
        let ids: [Int32] = [3, 9, 27, 81], types = [Int32](repeating: 0, count: 4), mask = [Int32](repeating: 1, count: 4)
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 1, sequence: 4, training: false, dropoutSeed: 0,
            firstTokenOnly: false)
        let viaInterface = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: 4 * 97))
        let direct = Array(
            UnsafeBufferPointer(
                start: try llama.forwardLogits(inputIds: ids, attentionMask: mask, batch: 1, sequence: 4, training: false), count: 4 * 97))
        XCTAssertEqual(viaInterface, direct)
    }

    func testTensorNaming() throws {
        let model = try LlamaFixtures.model()
        let names = model.tensorNames
        XCTAssertEqual(names.wordEmbeddings, "model.embed_tokens.weight")
        XCTAssertEqual(names.checkpointName("model.layers.1.mlp.up_proj.weight"), "model.layers.1.mlp.up_proj.weight")
        XCTAssertEqual(names.moduleName(ofTensor: "model.layers.1.self_attn.q_proj.weight"), "model.layers.1.self_attn.q_proj")
        XCTAssertEqual(names.layer(ofTensor: "model.layers.1.self_attn.q_proj.lora_A.weight"), 1)
        XCTAssertNil(names.layer(ofTensor: "model.norm.weight"))
        XCTAssertTrue(names.isEmbeddingTensor("model.embed_tokens.weight"))
        XCTAssertFalse(names.isEmbeddingTensor("model.norm.weight"))
        XCTAssertNil(names.sparseGradientTable, "tied: the output projection writes every row of the embedding table")
        XCTAssertEqual(LlamaTensorNaming(tiedEmbeddings: false).sparseGradientTable, "model.embed_tokens.weight")
        // Freezing and LoRA's trainable set through the names.
        let lora = LoRAConfiguration(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"], modulesToSave: [])
        XCTAssertEqual(lora.problems, [])
        XCTAssertTrue(lora.isTrainable("model.layers.0.self_attn.q_proj.lora_B.weight", names: names))
        XCTAssertFalse(lora.isTrainable("model.layers.0.self_attn.q_proj.weight", names: names))
        XCTAssertFalse(LoRAConfiguration(targetModules: ["q_projection"]).problems.isEmpty)
    }

    func testCausalLMAdapterReadAppliedAndWrittenWithPEFTNames() throws {
        let adapterDirectory = try LlamaFixtures.url("llama_lora_tiny_adapter")
        let adapter = try PEFTAdapter.read(directory: adapterDirectory)
        let lora = try XCTUnwrap(adapter.lora)
        XCTAssertEqual(lora.rank, 4)
        XCTAssertEqual(Set(lora.targetModules), Set(LlamaLoRAReferenceTests.targets))
        XCTAssertTrue(adapter.tensors.allSatisfy { $0.name.hasPrefix("model.layers.") }, "store names")
        var setup = adapter.setup
        setup.lora?.modulesToSave = ["classifier"]  // fttrain's default, which a causal LM has no module for
        let model = try ModelRegistry.load(modelDirectory: try LlamaFixtures.url("llama_tiny"), peft: setup)
        try adapter.apply(to: model, source: adapterDirectory.path)
        model.setTrainable { lora.isTrainable($0, names: model.tensorNames) }
        XCTAssertEqual(model.trainableParameterCount.trainable, 3712)
        XCTAssertEqual(model.trainableParameterCount.all, 22336)
        // The adapter gives PEFT's logits.
        let reference = try LlamaFixtures.reference("llama_lora_tiny_reference")
        let inputs = try LlamaFixtures.reference("llama_tiny_reference")
        let ids = try inputs.int64s("input.input_ids").map(Int32.init)
        let mask = try inputs.int64s("input.attention_mask").map(Int32.init)
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: ids.count), attentionMask: mask, batch: 2,
            sequence: ids.count / 2, training: false, dropoutSeed: 0, firstTokenOnly: false)
        assertClose(
            Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: ids.count * 97)), try reference.floats("output.logits"),
            atol: 1e-5, rtol: 1e-5, "logits with the adapter")
        // Written back: CAUSAL_LM, PEFT's names, the same tensors.
        let written = FileManager.default.temporaryDirectory.appendingPathComponent("llama-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: written) }
        try PEFTAdapter.write(model: model, to: written, baseModelName: "tiny")
        let config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: written.appendingPathComponent(PEFTAdapter.configFile))) as? [String: Any])
        XCTAssertEqual(config["task_type"] as? String, "CAUSAL_LM")
        XCTAssertEqual(config["modules_to_save"] as? [String], [], "no classifier in a causal LM")
        let file = try SafeTensorsFile(path: written.appendingPathComponent(PEFTAdapter.weightsFile).path)
        let original = try SafeTensorsFile(path: adapterDirectory.appendingPathComponent(PEFTAdapter.weightsFile).path)
        XCTAssertEqual(Set(file.tensors.map(\.name)), Set(original.tensors.map(\.name)))
        XCTAssertTrue(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"))
        for info in original.tensors { XCTAssertEqual(try file.floats(info.name), try original.floats(info.name), info.name) }
    }

    func testFLOPsCountAsTheAnchor() throws {
        let lora = LoRAConfiguration(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"], modulesToSave: [])
        let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
        model.setTrainable { LoRALayers.isLoRATensor($0) }
        let (B, T) = (3, 10)
        // scripts/anchors/torch_llm_bench.py lora_flops, by hand: C 32, I 48, L 2, V 97, H 4, KV 2, D 8.
        let N = Double(B * T)
        let base = Double(32 * 32 + 32 * 16 + 32 * 16 + 32 * 32 + 3 * 32 * 48)
        let lowRank = Double(4 * (32 + 32) + 4 * (32 + 16))
        let attention = Double(2 * 2 * B * T * T * 4 * 8)
        let forward = 2 * (2 * base * N + 2 * lowRank * N + attention) + 2 * 32 * 97 * N
        let backward = 2 * (2 * base * N + 4 * lowRank * N + 2 * attention) + 2 * 32 * 97 * N
        let flops = model.flops(batch: B, sequence: T, firstTokenOnly: false)
        XCTAssertEqual(flops.forward, forward)
        XCTAssertEqual(flops.trainingStep, forward + backward)
    }
}

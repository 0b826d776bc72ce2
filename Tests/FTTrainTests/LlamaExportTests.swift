import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// A Llama exported as a Hugging Face directory (what `merge_and_unload` + `save_pretrained` give:
/// `LlamaForCausalLM` names, LoRA merged) loads back to the same function.
final class LlamaExportTests: XCTestCase {
    func testMergedLoRAExportLoadsBackToTheSameLogits() throws {
        let base = TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/llama_tiny")
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["q_proj", "down_proj"], modulesToSave: [])
        let model = try ModelRegistry.load(modelDirectory: base, peft: PEFTSetup(lora: lora))
        let branches = try XCTUnwrap(model.peft?.loraBranches)
        var rng = SeededRNG(seed: 2, stream: 0)
        branches.initialize(rng: &rng)
        for view in model.store.views where view.name.hasSuffix("lora_B.weight") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.05 * Float(i % 9 - 4) }
        }
        let ids: [Int32] = [5, 6, 7, 8, 9, 10], types = [Int32](repeating: 0, count: 6), mask = [Int32](repeating: 1, count: 6)
        func logits(_ m: any SequenceModel) throws -> [Float] {
            let out = try m.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 1, sequence: 6, training: false, dropoutSeed: 0,
                firstTokenOnly: false)
            return Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: 6 * m.vocabularySize))
        }
        let expected = try logits(model)
        let destination = FileManager.default.temporaryDirectory.appendingPathComponent("llama-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: destination) }
        branches.merge()
        try HuggingFaceExport.write(model: model, labels: [], baseModelDirectory: base, to: destination)
        branches.unmerge()
        let reloaded = try ModelRegistry.load(modelDirectory: destination)
        XCTAssertTrue(reloaded is LlamaModel)
        assertClose(try logits(reloaded), expected, atol: 1e-5, rtol: 1e-5, "logits after export")
        let config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: destination.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["architectures"] as? [String], ["LlamaForCausalLM"])
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, true)
        let weights = try SafeTensorsFile(path: destination.appendingPathComponent("model.safetensors").path)
        XCTAssertFalse(weights.tensors.contains { $0.name.contains("lora_") })
        XCTAssertTrue(weights.contains("model.layers.1.mlp.down_proj.weight"))
    }

    /// A decoder's export is a complete Hugging Face directory: token ids and dtype in config.json
    /// (from the tokenizer when the base config lacks them), generation_config.json as transformers
    /// writes it (or the base's own), the tokenizer files with the chat template.
    func testCausalExportIsACompleteHuggingFaceDirectory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("llama-complete-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = root.appendingPathComponent("base")
        try TinyLlamaDirectory.write(to: base)
        // A base config without ids and with another dtype (as a GGUF base's or a bf16 checkpoint's).
        var baseConfig = try CausalLMExport.readObject(base.appendingPathComponent("config.json"))
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] { baseConfig.removeValue(forKey: key) }
        baseConfig["torch_dtype"] = "bfloat16"
        try CausalLMExport.writeObject(baseConfig, to: base.appendingPathComponent("config.json"))
        let model = try ModelRegistry.load(modelDirectory: base)
        let tokenizer = try ByteLevelBPETokenizer.load(directory: base)
        let destination = root.appendingPathComponent("model")
        try HuggingFaceExport.write(model: model, labels: [], baseModelDirectory: base, to: destination)
        let config = try CausalLMExport.readObject(destination.appendingPathComponent("config.json"))
        XCTAssertEqual(config["torch_dtype"] as? String, "float32")
        XCTAssertEqual(config["dtype"] as? String, "float32")
        XCTAssertEqual(config["bos_token_id"] as? Int, tokenizer.bosTokenId.map(Int.init))
        XCTAssertEqual(config["eos_token_id"] as? Int, Int(tokenizer.eosTokenId))
        XCTAssertEqual(config["pad_token_id"] as? Int, Int(tokenizer.padTokenId))
        let generation = try CausalLMExport.readObject(destination.appendingPathComponent("generation_config.json"))
        XCTAssertEqual(generation["_from_model_config"] as? Bool, true)
        XCTAssertEqual(generation["eos_token_id"] as? Int, Int(tokenizer.eosTokenId))
        XCTAssertEqual(generation["pad_token_id"] as? Int, Int(tokenizer.padTokenId))
        let tokenizerConfig = try CausalLMExport.readObject(destination.appendingPathComponent("tokenizer_config.json"))
        XCTAssertEqual(tokenizerConfig["chat_template"] as? String, tokenizer.chatTemplate)
        XCTAssertTrue(FileManager.default.fileExists(atPath: destination.appendingPathComponent("tokenizer.json").path))
        XCTAssertFalse(try SafeTensorsFile(path: destination.appendingPathComponent("model.safetensors").path).contains("lm_head.weight"))
        let reloaded = try CausalModelLoading.load(path: destination.path)
        XCTAssertEqual(reloaded.tokenizer.encode("Is 4 even?"), tokenizer.encode("Is 4 even?"))

        // A base with its own generation_config.json keeps it.
        let own: [String: Any] = ["eos_token_id": Int(tokenizer.eosTokenId), "temperature": 0.2, "do_sample": true]
        try CausalLMExport.writeObject(own, to: base.appendingPathComponent("generation_config.json"))
        let second = root.appendingPathComponent("model2")
        try HuggingFaceExport.write(model: model, labels: [], baseModelDirectory: base, to: second)
        let copied = try CausalLMExport.readObject(second.appendingPathComponent("generation_config.json"))
        XCTAssertEqual(copied["temperature"] as? Double, 0.2)
    }

    func testGGUFBaseConfigIsWrittenFromTheModel() throws {
        let model = try LlamaModel.load(
            modelDirectory: TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/llama_tiny"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llama-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try HuggingFaceExport.writeConfig(model: model, labels: [], base: URL(fileURLWithPath: "/nowhere/model.gguf"), to: url)
        XCTAssertEqual(try LlamaConfig.read(ModelRegistry.readConfigJSON(path: url.path)), model.config)
    }

    /// `peft: lora` with the 7 projections, `freeze_layers: 0` and `freeze_embeddings` on a Llama:
    /// PEFTTraining initialises its LoRA (B zero, A not) and trains layer 1's A and B only.
    func testPEFTPreparationAndFreezingThroughLlamaNames() throws {
        var c = TrainingConfiguration()
        try c.applyOverrides([
            "--peft", "lora", "--lora-target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            "--freeze-layers", "0", "--freeze-embeddings", "--lora-r", "2",
        ])
        let model = try ModelRegistry.load(
            modelDirectory: TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/llama_tiny"), peft: c.peftSetup)
        try PEFTTraining.prepare(model: model, configuration: c, log: try TrainingLog(path: nil, quiet: true))
        let trainable = model.store.trainableViews.map(\.name)
        XCTAssertEqual(trainable.count, 14)
        XCTAssertTrue(trainable.allSatisfy { $0.hasPrefix("model.layers.1.") && LoRALayers.isLoRATensor($0) }, "\(trainable)")
        XCTAssertTrue(model.store.valueArray("model.layers.0.mlp.up_proj.lora_A.weight").contains { $0 != 0 })
        XCTAssertTrue(model.store.valueArray("model.layers.0.mlp.up_proj.lora_B.weight").allSatisfy { $0 == 0 })
        XCTAssertFalse(c.isTrainable("model.embed_tokens.weight", names: model.tensorNames))
    }
}

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

    func testGGUFBaseConfigIsWrittenFromTheModel() throws {
        let model = try LlamaModel.load(
            modelDirectory: TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/llama_tiny"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llama-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try HuggingFaceExport.writeConfig(model: model, labels: [], base: URL(fileURLWithPath: "/nowhere/model.gguf"), to: url)
        XCTAssertEqual(try LlamaConfig.read(ModelRegistry.readConfigJSON(path: url.path)), model.config)
    }
}

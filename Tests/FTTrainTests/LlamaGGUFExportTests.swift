import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// A Llama written by `GGUFExport` (llama.cpp's names, q/k rows permuted, tokenizer metadata) reads
/// back through `GGUFFile` and `LlamaModel.load(gguf:)` to the same function: F32 bit for bit, F16
/// within the half-float rounding of the matrices. A causal-LM run from a GGUF base writes a
/// complete Hugging Face directory (config, weights, tokenizer, generation config) and the adapter.
final class LlamaGGUFExportTests: XCTestCase {
    var directory: URL!
    var savedThreads = 1

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("llama-gguf-export-\(UUID().uuidString)")
        try TinyLlamaDirectory.write(to: directory.appendingPathComponent("model"))
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDownWithError() throws {
        Parallel.threadCount = savedThreads
        try? FileManager.default.removeItem(at: directory)
    }

    let ids: [Int32] = [5, 17, 9, 60, 3, 41, 22, 8]

    func logits(_ model: any SequenceModel) throws -> [Float] {
        let n = ids.count
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: n), attentionMask: [Int32](repeating: 1, count: n), batch: 1,
            sequence: n, training: false, dropoutSeed: 0, firstTokenOnly: false)
        return Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: n * model.vocabularySize))
    }

    /// The tiny Llama with a random LoRA on q, k and down merged in (so the exported weights are
    /// not the base's), and its tokenizer.
    func mergedModel() throws -> (LlamaModel, ByteLevelBPETokenizer) {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["q_proj", "k_proj", "down_proj"], modulesToSave: [])
        let loaded = try CausalModelLoading.load(path: directory.appendingPathComponent("model").path, peft: PEFTSetup(lora: lora))
        let model = try XCTUnwrap(loaded.model as? LlamaModel)
        let branches = try XCTUnwrap(model.peft?.loraBranches)
        var rng = SeededRNG(seed: 3, stream: 0)
        branches.initialize(rng: &rng)
        for view in model.store.views where view.name.hasSuffix("lora_B.weight") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.05 * Float(i % 7 - 3) }
        }
        branches.merge()
        return (model, try XCTUnwrap(loaded.tokenizer as? ByteLevelBPETokenizer))
    }

    func testF32ExportReadsBackBitForBit() throws {
        let (model, tokenizer) = try mergedModel()
        let expected = try logits(model)
        let url = directory.appendingPathComponent("tiny-f32.gguf")
        try GGUFExport.write(model: model, tokenizer: tokenizer, name: "tiny", precision: .f32, to: url)

        let file = try GGUFFile(url: url)
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.string("general.name"), "tiny")
        XCTAssertEqual(try file.int("general.file_type"), 0)
        XCTAssertEqual(try file.int("llama.block_count"), 2)
        XCTAssertEqual(try file.int("llama.attention.head_count_kv"), 2)
        XCTAssertEqual(file.tensors.count, 2 + 2 * 9, "embedding, final norm, 9 per layer, no output.weight (tied)")
        XCTAssertEqual(file.tensors.first?.name, "token_embd.weight")
        XCTAssertTrue(file.tensors.allSatisfy { $0.type == .f32 })
        XCTAssertNil(file.tensor(named: "output.weight"))
        XCTAssertNotNil(file.tensor(named: "blk.1.ffn_down.weight"))
        // The q rows are llama.cpp's order, not the store's (the permutation was applied).
        let q = try file.floats(named: "blk.0.attn_q.weight")
        let storeQ = model.store.valueArray(LlamaTensorNames.weight(0, .q))
        XCTAssertNotEqual(q, storeQ)
        XCTAssertEqual(q.sorted(), storeQ.sorted())

        let reloaded = try LlamaModel.load(gguf: url)
        XCTAssertEqual(reloaded.config, model.config)
        for view in reloaded.store.views {
            XCTAssertEqual(reloaded.store.valueArray(view.name), model.store.valueArray(view.name), view.name)
        }
        XCTAssertEqual(try logits(reloaded), expected, "F32 logits are identical")
        // fttrain loads the file with its tokenizer, as `fttrain generate --model FILE` does.
        let loaded = try CausalModelLoading.load(path: url.path)
        let text = "Is 12 even or odd? <|im_end|>"
        XCTAssertEqual(loaded.tokenizer.encode(text), tokenizer.encode(text))
        let reread = try XCTUnwrap(loaded.tokenizer as? ByteLevelBPETokenizer)
        XCTAssertEqual(reread.chatTemplate, tokenizer.chatTemplate)
        XCTAssertEqual(reread.eosTokenId, tokenizer.eosTokenId)
        XCTAssertEqual(reread.padTokenId, tokenizer.padTokenId)
    }

    func testF16ExportRoundsTheMatricesOnly() throws {
        let (model, tokenizer) = try mergedModel()
        let expected = try logits(model)
        let url = directory.appendingPathComponent("tiny-f16.gguf")
        try GGUFExport.write(model: model, tokenizer: tokenizer, name: "tiny", precision: .f16, to: url)
        let file = try GGUFFile(url: url)
        XCTAssertEqual(try file.int("general.file_type"), 1)
        for info in file.tensors {
            XCTAssertEqual(info.type, info.shape.count > 1 ? .f16 : .f32, info.name)
        }
        let reloaded = try LlamaModel.load(gguf: url)
        for view in reloaded.store.views {
            let original = model.store.valueArray(view.name)
            let rounded = view.shape.count > 1 ? original.map { Float(Float16($0)) } : original
            XCTAssertEqual(reloaded.store.valueArray(view.name), rounded, view.name)
        }
        let actual = try logits(reloaded)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
        print("F16 export of the tiny Llama: largest logit difference \(worst) of \(expected.map(abs).max() ?? 0)")
        XCTAssertLessThan(worst, 4e-3, "F16 logits within 4e-3 (largest difference \(worst))")
        XCTAssertGreaterThan(worst, 0, "F16 is not F32")
    }

    func testLoRARunFromAGGUFBaseWritesACompleteHuggingFaceDirectory() throws {
        let loaded = try CausalModelLoading.load(path: directory.appendingPathComponent("model").path)
        let gguf = directory.appendingPathComponent("base.gguf")
        try GGUFExport.write(
            model: try XCTUnwrap(loaded.model as? LlamaModel), tokenizer: try XCTUnwrap(loaded.tokenizer as? ByteLevelBPETokenizer),
            name: "base", precision: .f32, to: gguf)
        var lines: [String] = []
        for i in 0..<12 {
            lines.append(
                #"{"messages": [{"role": "user", "content": "Is \#(i) even?"}, {"role": "assistant", "content": "\#(i % 2 == 0 ? "yes" : "no")"}]}"#)
        }
        let train = directory.appendingPathComponent("train.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: train, atomically: true, encoding: .utf8)
        var c = TrainingConfiguration()
        c.outputDir = directory.appendingPathComponent("out").path
        c.modelDir = gguf.path
        c.trainFile = train.path
        c.maxSteps = 3
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 2e-2
        c.maxLength = 64
        c.splitRatios = [0.8, 0.2, 0]
        c.peft = .lora
        c.loraR = 2
        c.loraTargetModules = ["q_proj", "v_proj", "gate_proj"]
        try TrainingRun(configuration: c).run()

        let out = URL(fileURLWithPath: c.outputDir!), model = out.appendingPathComponent("model")
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path), file)
        }
        let tokenizer = try XCTUnwrap(loaded.tokenizer as? ByteLevelBPETokenizer)
        let config = try CausalLMExport.readObject(model.appendingPathComponent("config.json"))
        XCTAssertEqual(config["architectures"] as? [String], ["LlamaForCausalLM"])
        XCTAssertEqual(config["model_type"] as? String, "llama")
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, true)
        XCTAssertEqual(config["torch_dtype"] as? String, "float32")
        XCTAssertEqual(config["dtype"] as? String, "float32")
        XCTAssertEqual(config["bos_token_id"] as? Int, tokenizer.bosTokenId.map(Int.init))
        XCTAssertEqual(config["eos_token_id"] as? Int, Int(tokenizer.eosTokenId))
        XCTAssertEqual(config["pad_token_id"] as? Int, Int(tokenizer.padTokenId))
        for key in [
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "head_dim", "rms_norm_eps", "rope_theta", "max_position_embeddings", "hidden_act",
        ] {
            XCTAssertNotNil(config[key], key)
        }
        let generation = try CausalLMExport.readObject(model.appendingPathComponent("generation_config.json"))
        XCTAssertEqual(generation["eos_token_id"] as? Int, Int(tokenizer.eosTokenId))
        XCTAssertEqual(generation["pad_token_id"] as? Int, Int(tokenizer.padTokenId))
        XCTAssertEqual(generation["bos_token_id"] as? Int, tokenizer.bosTokenId.map(Int.init))
        let tokenizerConfig = try CausalLMExport.readObject(model.appendingPathComponent("tokenizer_config.json"))
        XCTAssertEqual(tokenizerConfig["chat_template"] as? String, tokenizer.chatTemplate)
        XCTAssertEqual(tokenizerConfig["eos_token"] as? String, "<|im_end|>")
        XCTAssertNotNil(tokenizerConfig["bos_token"] as? String)
        XCTAssertNotNil(tokenizerConfig["pad_token"] as? String)
        let weights = try SafeTensorsFile(path: model.appendingPathComponent("model.safetensors").path)
        XCTAssertFalse(weights.contains(LlamaTensorNames.lmHead), "tied: no lm_head.weight")
        XCTAssertFalse(weights.tensors.contains { $0.name.contains("lora_") })
        XCTAssertEqual(weights.tensors.count, 2 + 2 * 9)

        // The merged directory equals the GGUF base with the adapter, and is not the base.
        let exported = try CausalModelLoading.load(path: model.path)
        XCTAssertEqual(exported.tokenizer.encode("Is 3 even?"), tokenizer.encode("Is 3 even?"))
        let adapter = out.appendingPathComponent("adapter")
        let adapterConfig = try CausalLMExport.readObject(adapter.appendingPathComponent("adapter_config.json"))
        XCTAssertEqual(adapterConfig["task_type"] as? String, "CAUSAL_LM")
        let withAdapter = try CausalModelLoading.load(path: gguf.path, adapter: adapter)
        let a = try logits(exported.model), b = try logits(withAdapter.model)
        assertClose(a, b, atol: 1e-5, rtol: 1e-5, "OUT/model against base.gguf + OUT/adapter")
        XCTAssertNotEqual(a, try logits(loaded.model), "the LoRA run changed the model")
    }
}

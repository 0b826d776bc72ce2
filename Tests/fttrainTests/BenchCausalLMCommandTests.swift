import Foundation
import TestSupport
import XCTest

/// `fttrain bench` on a decoder through the built binary: the tiny Llama of the reference tests
/// (a directory) in every mode, and the real SmolLM2 GGUF on short shapes. One JSON line with the
/// fields scripts/bench_llm.sh reads (speeds are printed there, never asserted).
final class BenchCausalLMCommandTests: XCTestCase {
    private var tinyLlama: String {
        TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/llama_tiny").path
    }

    private func json(_ model: String, _ arguments: [String]) throws -> [String: Any] {
        let r = try FTTrainProcess.run(["bench", "--model-dir", model] + arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last, r.stdout)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
    }

    /// LoRA on the seven projections: 2 layers × r 8 × (in + out) of q, k, v, o, gate, up, down
    /// of the tiny config (C 32, q 32, k/v 16, F 48) are the only trained values; the loss is the
    /// next-token loss of random ids over a 97-token vocabulary (near ln 97 ≈ 4.57 at the start).
    func testLoRAStepOnTheSevenProjections() throws {
        let record = try json(tinyLlama, ["--mode", "lora", "--batch", "2", "--seq", "16", "--steps", "3", "--warmup", "1", "--threads", "2"])
        XCTAssertEqual(record["mode"] as? String, "lora")
        XCTAssertEqual(record["model"] as? String, "LlamaForCausalLM")
        let perLayer = 8 * ((32 + 32) + (32 + 16) + (32 + 16) + (32 + 32) + (32 + 48) + (32 + 48) + (48 + 32))
        XCTAssertEqual(record["trainable"] as? Int, 2 * perLayer)
        XCTAssertEqual(record["steps"] as? Int, 3)
        XCTAssertEqual(record["seq"] as? Int, 16)
        XCTAssertGreaterThan(try XCTUnwrap(record["tokens_per_s"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(record["gflop_per_step_per_rank"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(record["peak_rss_mb"] as? Double), 1)
        let loss = try XCTUnwrap(record["last_loss"] as? Double)
        XCTAssertEqual(loss, log(97), accuracy: 1.5)
    }

    func testFullStepTrainsEveryTensorAndInferenceRuns() throws {
        let full = try json(tinyLlama, ["--mode", "full", "--batch", "2", "--seq", "8", "--steps", "2", "--warmup", "0"])
        XCTAssertEqual(full["trainable"] as? Int, full["params"] as? Int)
        XCTAssertTrue(try XCTUnwrap(full["last_loss"] as? Double).isFinite)
        let infer = try json(tinyLlama, ["--mode", "infer", "--batch", "3", "--seq", "8", "--steps", "2", "--warmup", "0"])
        XCTAssertEqual(infer["batch_per_rank"] as? Int, 3)
        XCTAssertGreaterThan(try XCTUnwrap(infer["tokens_per_s"] as? Double), 0)
    }

    func testGenerateReportsPrefillAndDecode() throws {
        let record = try json(
            tinyLlama, ["--mode", "generate", "--prompt-tokens", "10", "--new-tokens", "6", "--steps", "2", "--warmup", "1"])
        XCTAssertEqual(record["prompt_tokens"] as? Int, 10)
        XCTAssertEqual(record["new_tokens"] as? Int, 6)
        XCTAssertEqual(record["generated_tokens"] as? Int, 6)
        XCTAssertGreaterThan(try XCTUnwrap(record["prefill_tokens_per_s"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(record["decode_tokens_per_s"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(record["decode_ms_per_token"] as? Double), 0)
    }

    /// The real model, as scripts/bench_llm.sh runs it (short shapes: this is a debug build).
    func testSmolLM2GGUFLoRAAndGenerate() throws {
        let gguf = try TestAssets.requireSmolLM2GGUF().path
        let lora = try json(gguf, ["--mode", "lora", "--batch", "1", "--seq", "8", "--steps", "1", "--warmup", "0"])
        // 30 layers × r 8 × Σ(in + out) over the seven projections of SmolLM2-135M (C 576, kv 192, F 1536).
        XCTAssertEqual(lora["trainable"] as? Int, 30 * 8 * (4 * 576 + 2 * (576 + 192) + 3 * (576 + 1536)))
        XCTAssertEqual(try XCTUnwrap(lora["last_loss"] as? Double), log(49_152), accuracy: 8)
        let generate = try json(gguf, ["--mode", "generate", "--prompt-tokens", "4", "--new-tokens", "2", "--steps", "1", "--warmup", "0"])
        XCTAssertEqual(generate["generated_tokens"] as? Int, 2)
        XCTAssertGreaterThan(try XCTUnwrap(generate["decode_tokens_per_s"] as? Double), 0)
    }

    func testBadArgumentsAreRejected() throws {
        let long = try FTTrainProcess.run(["bench", "--model-dir", tinyLlama, "--mode", "generate", "--prompt-tokens", "60", "--new-tokens", "10"])
        XCTAssertNotEqual(long.status, 0)
        XCTAssertTrue(long.stderr.contains("max_position_embeddings"), long.stderr)
        let short = try FTTrainProcess.run(["bench", "--model-dir", tinyLlama, "--mode", "generate", "--new-tokens", "1"])
        XCTAssertNotEqual(short.status, 0)
        XCTAssertTrue(short.stderr.contains("--new-tokens"), short.stderr)
    }
}

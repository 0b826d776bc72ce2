import Foundation
import TestSupport
import XCTest

/// `fttrain bench` through the built binary on a tiny model: one JSON line with the anchor's
/// fields, and clear rejections. (Speeds are printed by scripts/bench.sh, never asserted.)
final class BenchCommandTests: XCTestCase {
    var model: String!

    override func setUpWithError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-bench-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        try TinyModelDirectory.write(to: directory, words: ["good", "bad", "movie", "the"])
        model = directory.path
    }

    private func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try FTTrainProcess.run(["bench", "--model-dir", model] + arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last, r.stdout)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
    }

    func testFullStepReportsTheAnchorFields() throws {
        let record = try json(["--mode", "full", "--batch", "3", "--seq", "8", "--steps", "3", "--warmup", "1", "--threads", "1"])
        XCTAssertEqual(record["mode"] as? String, "full")
        XCTAssertEqual(record["batch_per_rank"] as? Int, 3)
        XCTAssertEqual(record["seq"] as? Int, 8)
        XCTAssertEqual(record["steps"] as? Int, 3)
        XCTAssertEqual(record["world"] as? Int, 1)
        XCTAssertGreaterThan(try XCTUnwrap(record["samples_per_s"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(record["step_ms_median"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(record["peak_rss_mb"] as? Double), 1)
        XCTAssertTrue(try XCTUnwrap(record["last_loss"] as? Double).isFinite)
    }

    func testLoRATrainsOnlyTheAdapterAndHead() throws {
        let record = try json(["--mode", "lora", "--batch", "2", "--seq", "8", "--steps", "2", "--warmup", "0"])
        let trainable = try XCTUnwrap(record["trainable"] as? Int), params = try XCTUnwrap(record["params"] as? Int)
        XCTAssertGreaterThan(trainable, 0)
        XCTAssertLessThan(trainable * 5, params, "LoRA trains a small part of the model")
        XCTAssertTrue(try XCTUnwrap(record["last_loss"] as? Double).isFinite)
    }

    func testInferenceAndMatrixProductModes() throws {
        let infer = try json(["--mode", "infer", "--batch", "4", "--seq", "8", "--steps", "2", "--warmup", "0"])
        XCTAssertEqual(infer["batch_per_rank"] as? Int, 4)
        XCTAssertGreaterThan(try XCTUnwrap(infer["gflops_achieved"] as? Double), 0)
        let sgemm = try json(["--mode", "sgemm", "--seq", "64", "--steps", "2", "--warmup", "0"])
        XCTAssertEqual(sgemm["size"] as? Int, 64)
        XCTAssertGreaterThan(try XCTUnwrap(sgemm["gflops_achieved"] as? Double), 0)
    }

    /// By default the last layer runs for first tokens only and the JSON counts the FLOPs it
    /// skips; `--all-tokens` runs every row, with the same loss up to rounding.
    func testAllTokensComputesTheWholeLastLayer() throws {
        let arguments = ["--mode", "full", "--batch", "3", "--seq", "8", "--steps", "2", "--warmup", "0", "--threads", "1"]
        let first = try json(arguments), all = try json(arguments + ["--all-tokens"])
        XCTAssertEqual(first["first_token_only"] as? Bool, true)
        XCTAssertEqual(all["first_token_only"] as? Bool, false)
        let nominal = try XCTUnwrap(first["gflop_per_step_per_rank"] as? Double)
        XCTAssertLessThan(try XCTUnwrap(first["gflop_computed_per_step_per_rank"] as? Double), nominal)
        XCTAssertEqual(try XCTUnwrap(all["gflop_computed_per_step_per_rank"] as? Double), nominal, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(first["last_loss"] as? Double), try XCTUnwrap(all["last_loss"] as? Double), accuracy: 1e-5)
    }

    /// `--precision bf16` trains and infers with bf16 products (the JSON says whether bf16
    /// instructions ran); the loss stays near float32's; int8 is refused as not yet built.
    func testPrecisionOption() throws {
        let arguments = ["--mode", "full", "--batch", "3", "--seq", "8", "--steps", "2", "--warmup", "0", "--threads", "1"]
        let fp32 = try json(arguments), bf16 = try json(arguments + ["--precision", "bf16"])
        XCTAssertEqual(fp32["precision"] as? String, "fp32")
        XCTAssertEqual(bf16["precision"] as? String, "bf16")
        XCTAssertEqual(fp32["bf16_instructions"] as? Bool, false)
        XCTAssertNotNil(bf16["bf16_instructions"] as? Bool)
        XCTAssertEqual(try XCTUnwrap(bf16["last_loss"] as? Double), try XCTUnwrap(fp32["last_loss"] as? Double), accuracy: 0.05)
        let infer = try json(["--mode", "infer", "--batch", "2", "--seq", "8", "--steps", "1", "--warmup", "0", "--precision", "bf16"])
        XCTAssertGreaterThan(try XCTUnwrap(infer["samples_per_s"] as? Double), 0)
        // INT8 is an inference format (QuantizeCommandTests bench it).
        let int8 = try FTTrainProcess.run(["bench", "--model-dir", model, "--precision", "int8"])
        XCTAssertNotEqual(int8.status, 0)
        XCTAssertTrue(int8.stderr.contains("--mode infer"), int8.stderr)
    }

    func testBadShapesAreRejected() throws {
        let long = try FTTrainProcess.run(["bench", "--model-dir", model, "--seq", "100000", "--steps", "1"])
        XCTAssertNotEqual(long.status, 0)
        XCTAssertTrue(long.stderr.contains("max_position_embeddings"), long.stderr)
        let empty = try FTTrainProcess.run(["bench", "--model-dir", model, "--batch", "0"])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("--batch"), empty.stderr)
    }
}

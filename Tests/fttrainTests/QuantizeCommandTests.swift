import Foundation
import TestSupport
import XCTest

/// `fttrain quantize` end to end: a tiny fine-tuned classifier quantised with `--eval-file`
/// (the printed and written comparison), `predict` on the quantised directory, refusals.
final class QuantizeCommandTests: TinyRunTestCase {
    func testQuantiseEvaluateAndPredict() throws {
        let (trained, output) = try train(["--save-strategy", "no", "--eval-strategy", "no"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let model = output.appendingPathComponent("model").path
        let quantized = directory.appendingPathComponent("int8").path
        let test = try writeData("test.csv", rows: 60)
        let r = try FTTrainProcess.run(["quantize", "--model-dir", model, "--output-dir", quantized, "--eval-file", test, "--max-length", "16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("agreement") && r.stdout.contains("60 labelled examples"), r.stdout)

        let report = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: quantized + "/quantization_eval.json"))) as? [String: Any])
        XCTAssertEqual(report["examples"] as? Int, 60)
        let agreement = try XCTUnwrap(report["agreement"] as? Double)
        XCTAssertGreaterThanOrEqual(agreement, 0.95, "\(report)")
        let delta = try XCTUnwrap(report["accuracy_delta"] as? Double)
        XCTAssertLessThanOrEqual(abs(delta), 0.05, "\(report)")
        let change = try XCTUnwrap(report["largest_probability_change"] as? Double)
        XCTAssertGreaterThan(change, 0, "INT8 changed the probabilities at all")
        XCTAssertLessThan(change, 0.2)
        XCTAssertNotNil((report["int8"] as? [String: Any])?["macro_f1"] as? Double)

        // predict loads the quantised directory (its config.json carries id2label and the marker).
        let input = directory.appendingPathComponent("texts.txt").path
        try "the film was good , great !\na man who finds a city .\n".write(toFile: input, atomically: true, encoding: .utf8)
        let float32 = try FTTrainProcess.run(["predict", "--model-dir", model, "--input", input, "--max-length", "16"])
        let int8 = try FTTrainProcess.run(["predict", "--model-dir", quantized, "--input", input, "--max-length", "16"])
        XCTAssertEqual(int8.status, 0, int8.stderr)
        func labels(_ out: String) -> [String] {
            out.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["label"] as? String
            }
        }
        XCTAssertEqual(labels(int8.stdout).count, 2)
        XCTAssertEqual(labels(int8.stdout), labels(float32.stdout))
        XCTAssertNotEqual(int8.stdout, float32.stdout, "the INT8 probabilities differ in the last digits")

        // Quantising a quantised model, or into an existing directory, is refused.
        let again = try FTTrainProcess.run(["quantize", "--model-dir", quantized, "--output-dir", directory.appendingPathComponent("q2").path])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("already quantised"), again.stderr)
        let exists = try FTTrainProcess.run(["quantize", "--model-dir", model, "--output-dir", quantized])
        XCTAssertNotEqual(exists.status, 0)
        XCTAssertTrue(exists.stderr.contains("already exists"), exists.stderr)
    }

    /// `bench --precision int8` quantises a float32 model; a quantised directory benches in INT8
    /// without it; training in INT8 is refused.
    func testBenchPrecisionInt8() throws {
        let model = directory.appendingPathComponent("model").path
        func record(_ arguments: [String]) throws -> [String: Any] {
            let r = try FTTrainProcess.run(["bench"] + arguments + ["--batch", "2", "--seq", "8", "--steps", "2", "--warmup", "1"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let line = try XCTUnwrap(r.stdout.split(separator: "\n").last, r.stdout)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        XCTAssertEqual(try record(["--model-dir", model, "--mode", "infer"])["precision"] as? String, "fp32")
        let int8 = try record(["--model-dir", model, "--mode", "infer", "--precision", "int8"])
        XCTAssertEqual(int8["precision"] as? String, "int8")
        XCTAssertNotNil(int8["int8_kernel"] as? String)
        let quantized = directory.appendingPathComponent("int8").path
        XCTAssertEqual(try FTTrainProcess.run(["quantize", "--model-dir", model, "--output-dir", quantized]).status, 0)
        XCTAssertEqual(try record(["--model-dir", quantized, "--mode", "infer"])["precision"] as? String, "int8")
        let refused = try FTTrainProcess.run(["bench", "--model-dir", model, "--mode", "full", "--precision", "int8"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--mode infer"), refused.stderr)
    }
}

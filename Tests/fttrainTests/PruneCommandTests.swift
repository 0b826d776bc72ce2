import Foundation
import TestSupport
import XCTest

/// `fttrain prune` end to end on a tiny fine-tuned classifier: magnitude pruning (evaluated, and
/// with a recovery fine-tune that keeps the zeros), head pruning (a smaller directory `predict`
/// loads), and the refusals.
final class PruneCommandTests: TinyRunTestCase {
    private func report(_ directory: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/pruning.json"))) as? [String: Any])
    }

    func testMagnitudeRecoveryAndHeads() throws {
        let (trained, output) = try train(["--save-strategy", "no", "--eval-strategy", "no"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let model = output.appendingPathComponent("model").path
        let test = try writeData("test.csv", rows: 60)

        let magnitude = directory.appendingPathComponent("magnitude").path
        let m = try FTTrainProcess.run([
            "prune", "--model-dir", model, "--output-dir", magnitude, "--method", "magnitude", "--sparsity", "0.5",
            "--eval-file", test, "--max-length", "16",
        ])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains("sparsity of the layer weights: 0.5000"), m.stdout)
        var record = try report(magnitude)
        XCTAssertEqual(try XCTUnwrap(record["sparsity"] as? Double), 0.5, accuracy: 1e-4)
        XCTAssertEqual(record["scope"] as? String, "global")
        XCTAssertNotNil((record["eval_pruned"] as? [String: Any])?["accuracy"] as? Double)
        XCTAssertNotNil((record["eval_source"] as? [String: Any])?["accuracy"] as? Double)

        // Recovery: OUT/pruned before, OUT/model after, the zeros kept.
        let recovery = directory.appendingPathComponent("recovery.yaml").path
        try
            "num_train_epochs: 2\nper_device_train_batch_size: 8\nlearning_rate: 1.0e-3\nmax_length: 16\nsave_strategy: \"no\"\neval_strategy: \"no\"\nseed: 3\n"
            .write(toFile: recovery, atomically: true, encoding: .utf8)
        let recovered = directory.appendingPathComponent("recovered").path
        let r = try FTTrainProcess.run([
            "prune", "--model-dir", model, "--output-dir", recovered, "--method", "magnitude", "--sparsity", "0.6", "--scope", "layer",
            "--train-file", try writeData("train2.csv", rows: 90), "--config", recovery,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: recovered + "/pruned/model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: recovered + "/model/model.safetensors"))
        record = try report(recovered)
        let after = try XCTUnwrap(record["after_recovery"] as? [String: Any])
        let sparsity = try XCTUnwrap(after["sparsity"] as? Double)
        let before = try XCTUnwrap(record["sparsity"] as? Double)
        XCTAssertEqual(before, 0.6, accuracy: 1e-3, "per tensor: round(0.6 n) of each")
        XCTAssertEqual(sparsity, before, accuracy: 1e-12, "pruned weights stay zero through the fine-tune, and nothing else becomes zero")
        XCTAssertNotNil(record["recovery_metrics"] as? [String: Any])
        for value in try XCTUnwrap(after["tensors"] as? [String: Double]).values { XCTAssertEqual(value, 0.6, accuracy: 0.01) }

        // Heads: 3 of 8 removed, a smaller directory that predict loads.
        let heads = directory.appendingPathComponent("heads").path
        let h = try FTTrainProcess.run([
            "prune", "--model-dir", model, "--output-dir", heads, "--method", "heads", "--heads", "3",
            "--data-file", test, "--eval-file", test, "--max-length", "16",
        ])
        XCTAssertEqual(h.status, 0, h.stderr)
        let config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: heads + "/config.json"))) as? [String: Any])
        let pruned = try XCTUnwrap(config["pruned_heads"] as? [String: [Int]], "\(config)")
        XCTAssertEqual(pruned.values.reduce(0) { $0 + $1.count }, 3)
        record = try report(heads)
        XCTAssertEqual(record["heads_per_layer"] as? [Int], (0..<2).map { 4 - (pruned[String($0)]?.count ?? 0) })
        let input = directory.appendingPathComponent("texts.txt").path
        try "the film was good , great !\na man who finds a city .\n".write(toFile: input, atomically: true, encoding: .utf8)
        let predicted = try FTTrainProcess.run(["predict", "--model-dir", heads, "--input", input, "--max-length", "16"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertEqual(predicted.stdout.split(separator: "\n").count, 2, predicted.stdout)
    }

    func testBadRequestsAreRefused() throws {
        let model = directory.appendingPathComponent("model").path  // a bare encoder: no classifier
        let data = try writeData("data.csv", rows: 12)
        func refused(_ arguments: [String], _ needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let out = directory.appendingPathComponent("out-\(UUID().uuidString)").path
            let r = try FTTrainProcess.run(["prune", "--model-dir", model, "--output-dir", out] + arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments) must fail", file: file, line: line)
            XCTAssertTrue(r.stderr.contains(needle), "\(arguments): \(r.stderr)", file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.safetensors"), file: file, line: line)
        }
        try refused(["--method", "magnitude", "--sparsity", "1"], "[0, 1)")
        try refused(["--method", "magnitude", "--sparsity", "-0.2"], "[0, 1)")
        try refused(["--method", "magnitude"], "needs --sparsity")
        try refused(["--method", "magnitude", "--sparsity", "0.5", "--scope", "row"], "global or layer")
        try refused(["--method", "heads", "--heads", "2"], "needs --data-file")
        try refused(["--method", "heads", "--heads", "2", "--head-fraction", "0.5", "--data-file", data], "one of --heads or --head-fraction")
        try refused(["--method", "heads", "--head-fraction", "1.0", "--data-file", data], "[0, 1)")
        try refused(["--method", "heads", "--heads", "2", "--data-file", data], "needs a classifier")
        try refused(["--method", "magnitude", "--sparsity", "0.5", "--config", data], "--train-file")

        let (trained, output) = try train(["--save-strategy", "no", "--eval-strategy", "no", "--num-train-epochs", "1"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let classifier = output.appendingPathComponent("model").path
        let out = directory.appendingPathComponent("too-many").path
        let many = try FTTrainProcess.run([
            "prune", "--model-dir", classifier, "--output-dir", out, "--method", "heads", "--heads", "7", "--data-file", data,
        ])
        XCTAssertNotEqual(many.status, 0)
        XCTAssertTrue(many.stderr.contains("at most 6"), many.stderr)
        let missing = try FTTrainProcess.run([
            "prune", "--model-dir", classifier, "--output-dir", out, "--method", "heads", "--heads", "2", "--data-file", "/nonexistent.csv",
        ])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/nonexistent.csv"), missing.stderr)
    }
}

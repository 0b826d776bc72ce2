import Foundation
import TestSupport
import XCTest

/// `fttrain train` with `--augment` and `fttrain select` through the built binary, on the tiny model.
final class SelectCommandTests: TinyRunTestCase {
    func testAugmentedTrainingThenSelection() throws {
        let data = try writeData("train.csv", rows: 120)
        let plainOutput = directory.appendingPathComponent("plain")
        let (plain, _) = try train(["--max-steps", "4", "--output-dir", plainOutput.path], data: data)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let (augmented, output) = try train(
            // logging_steps 0 (step records off) once divided by zero at the first step.
            ["--max-steps", "4", "--logging-steps", "0", "--augment", "copies=1,synonym_replacement=0,random_insertion=0,seed=5"], data: data)
        XCTAssertEqual(augmented.status, 0, augmented.stderr)
        func lines(_ run: URL, _ file: String) throws -> [Substring] {
            try String(contentsOf: run.appendingPathComponent("data/\(file)"), encoding: .utf8).split(separator: "\n")
        }
        // Only the training split doubled (120 rows, de-duplicated, split 80/10/10); the others are
        // byte for byte the same.
        let n = try lines(plainOutput, "train.jsonl").count
        XCTAssertGreaterThan(n, 80)
        XCTAssertEqual(try lines(output, "train.jsonl").count, 2 * n)
        let log = augmented.stdout + augmented.stderr
        XCTAssertTrue(log.contains("augment added \(n) rows to the training split of \(n) ("), log)
        for split in ["validation.jsonl", "test.jsonl"] {
            XCTAssertEqual(
                try Data(contentsOf: output.appendingPathComponent("data/\(split)")),
                try Data(contentsOf: plainOutput.appendingPathComponent("data/\(split)")), split)
        }
        let settings = try String(contentsOf: output.appendingPathComponent("training_config.yaml"), encoding: .utf8)
        XCTAssertTrue(settings.contains("augment: {copies: 1,"), settings)

        let pool = output.appendingPathComponent("data/validation.jsonl").path
        let selected = directory.appendingPathComponent("next.jsonl").path
        let model = output.appendingPathComponent("model").path
        let run = try FTTrainProcess.run([
            "select", "--model-dir", model, "--pool", pool, "--budget", "5", "--strategy", "margin", "--output", selected, "--max-length", "16",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let chosen = try String(contentsOfFile: selected, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(chosen.map { $0["rank"] as? Int }, [1, 2, 3, 4, 5])
        let margins = chosen.compactMap { $0["score"] as? Double }
        XCTAssertEqual(margins, margins.sorted())
        XCTAssertTrue(chosen.allSatisfy { $0["text"] is String && $0["label"] != nil })

        let unknown = try FTTrainProcess.run([
            "select", "--model-dir", model, "--pool", pool, "--budget", "5", "--strategy", "uncertainty", "--output", selected,
        ])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("uncertainty") && unknown.stderr.contains("least-confidence"), unknown.stderr)
        let tooMany = try FTTrainProcess.run([
            "select", "--model-dir", model, "--pool", pool, "--budget", "99", "--strategy", "entropy", "--output", selected,
        ])
        XCTAssertNotEqual(tooMany.status, 0)
        XCTAssertTrue(
            tooMany.stderr.contains("--budget 99 is larger than the pool: \(pool) has \(try lines(output, "validation.jsonl").count) rows"),
            tooMany.stderr)
    }
}

import Foundation
import TestSupport
import XCTest

/// `fttrain train` and `fttrain predict` end to end on a tiny model and a small synthetic data
/// set (seconds), plus every rejection a user can run into, through the built binary.
final class TrainCommandTests: TinyRunTestCase {
    func testTrainingLearnsAndWritesTheOutputContract() throws {
        let (result, output) = try train(["--warmup-ratio", "0.1", "--eval-strategy", "epoch"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let fileManager = FileManager.default
        for file in [
            "metrics.json", "log.jsonl", "confusion_matrix.csv", "errors.jsonl", "classification_report.txt",
            "training_config.yaml", "model/config.json", "model/model.safetensors", "model/vocab.txt",
            "data/train.jsonl", "data/validation.jsonl", "data/test.jsonl",
        ] {
            XCTAssertTrue(fileManager.fileExists(atPath: output.appendingPathComponent(file).path), "missing \(file)")
        }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("metrics.json"))) as! [String: Double]
        for key in ["eval_accuracy", "eval_loss", "test_accuracy", "test_f1_macro", "test_loss", "train_loss"] {
            XCTAssertNotNil(metrics[key], "metrics.json lacks \(key)")
        }
        XCTAssertGreaterThan(metrics["test_accuracy"]!, 0.9, "three word-separable classes must be learned")

        // The loss falls: the last logged training loss is well below the first.
        let records = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let losses = records.compactMap { $0["loss"] as? Double }
        XCTAssertGreaterThan(losses.count, 5)
        XCTAssertLessThan(losses.last!, losses.first! * 0.5, "losses \(losses)")
        for key in ["step", "epoch", "learning_rate", "grad_norm", "samples_per_second"] {
            XCTAssertNotNil(records.first { $0["loss"] != nil }?[key], "log.jsonl lacks \(key)")
        }
        XCTAssertTrue(records.contains { $0["eval_accuracy"] != nil }, "an evaluation per epoch is logged")

        // The exported model reproduces the run's test accuracy through `fttrain predict`.
        let test = output.appendingPathComponent("data/test.jsonl").path
        let predicted = try FTTrainProcess.run([
            "predict", "--model-dir", output.appendingPathComponent("model").path,
            "--input", test, "--max-length", "16",
        ])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let truth = try String(contentsOfFile: test, encoding: .utf8).split(separator: "\n")
            .map { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["label"] as! String }
        let rows = try predicted.stdout.split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.count, truth.count)
        let correct = zip(rows, truth).filter { ($0.0["label"] as! String) == $0.1 }.count
        XCTAssertEqual(Double(correct) / Double(truth.count), metrics["test_accuracy"]!, accuracy: 1e-9)
        let probabilities = rows[0]["probabilities"] as! [String: Double]
        XCTAssertEqual(Set(probabilities.keys), ["fresh", "plot", "rotten"])
        XCTAssertEqual(probabilities.values.reduce(0, +), 1, accuracy: 1e-5)
    }

    func testSameSeedSameRun() throws {
        let (first, output) = try train(["--max-steps", "6"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let log1 = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8)
        let (second, _) = try train(["--max-steps", "6"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let log2 = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8)
        func losses(_ log: String) -> [String] {
            log.split(separator: "\n").map { line in
                String(line.split(separator: ",").first { $0.contains("\"loss\"") } ?? "")
            }
        }
        XCTAssertEqual(losses(log1), losses(log2))
    }

    func testRejections() throws {
        try assertFails([], data: directory.appendingPathComponent("missing.csv").path, mentions: ["missing.csv"])
        let broken = directory.appendingPathComponent("broken.csv").path
        try "label,text\nfresh,\"never closed\nrotten,fine\n".write(toFile: broken, atomically: true, encoding: .utf8)
        try assertFails([], data: broken, mentions: ["broken.csv:2", "never closed"])
        let noText = directory.appendingPathComponent("notext.csv").path
        try "label,review\nfresh,good\n".write(toFile: noText, atomically: true, encoding: .utf8)
        try assertFails([], data: noText, mentions: ["notext.csv", "text"])
        try assertFails(["--learning-rat", "1e-3"], mentions: ["--learning-rat", "--learning-rate"])
        try assertFails(["--learning-rate", "-1"], mentions: ["learning_rate"])
        try assertFails(["--lr-scheduler-type", "wavy"], mentions: ["--lr-scheduler-type", "wavy"])
        let tiny = directory.appendingPathComponent("tiny.csv").path
        try "label,text\nfresh,good\nrotten,bad\n".write(toFile: tiny, atomically: true, encoding: .utf8)
        try assertFails([], data: tiny, mentions: ["2 examples"])
    }

    /// An awkward CSV (BOM, CRLF, quoted commas, quotes and newlines, integer labels, CJK and
    /// emoji) reaches the run intact: the split files hold every row with its exact text.
    func testAwkwardCSVIsReadExactly() throws {
        var rows: [(label: Int, text: String)] = []
        for i in 0..<30 {
            switch i % 3 {
            case 0: rows.append((0, "good, \"great\" movie \(i)"))
            case 1: rows.append((1, "bad\nfilm \(i) 😀"))
            default: rows.append((2, "a story 故事 \(i)"))
            }
        }
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let csv = "\u{FEFF}label,text\r\n" + rows.map { "\($0.label),\(quoted($0.text))" }.joined(separator: "\r\n")
        let path = directory.appendingPathComponent("awkward.csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let (result, output) = try train(["--max-steps", "1", "--collapse-whitespace", "false"], data: path)
        XCTAssertEqual(result.status, 0, result.stderr)
        var seen: [String: String] = [:]
        for split in ["train", "validation", "test"] {
            let lines = try String(contentsOf: output.appendingPathComponent("data/\(split).jsonl"), encoding: .utf8)
            for line in lines.split(separator: "\n") {
                let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                seen[record["text"] as! String] = record["label"] as? String
            }
        }
        XCTAssertEqual(seen.count, rows.count)
        for row in rows { XCTAssertEqual(seen[row.text], String(row.label), "row \(row.text.debugDescription)") }
        let config = try String(contentsOf: output.appendingPathComponent("model/config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"id2label\""), config)
    }

    /// Rows with an empty text or label stop the run, named by file and line, unless skipped.
    func testBadRowsStopUnlessSkipped() throws {
        let path = try writeData("rows.csv", rows: 120)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text += "fresh,\"   \"\n,\"a labelless row\"\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try assertFails([], data: path, mentions: ["rows.csv:122", "rows.csv:123", "skip_bad_rows"])
        let (result, output) = try train(["--skip-bad-rows", "--max-steps", "2"], data: path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("rows.csv:122"), "skipped rows are listed in the log: \(result.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("model/model.safetensors").path))
    }

    func testUnknownValidationLabelIsNamed() throws {
        let validation = directory.appendingPathComponent("val.csv").path
        try "label,text\nfresh,good movie\nsequel,a story\n".write(toFile: validation, atomically: true, encoding: .utf8)
        try assertFails(["--validation-file", validation], mentions: ["val.csv", "3", "sequel"])
    }

    func testCorruptModelIsNamed() throws {
        let weights = directory.appendingPathComponent("model/model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count - 100).write(to: weights)
        try assertFails([], mentions: ["model.safetensors", "truncated"])
    }
}

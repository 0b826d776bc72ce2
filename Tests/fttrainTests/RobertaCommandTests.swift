import Foundation
import TestSupport
import XCTest

/// `tokenize`, `embed`, `quantize`, `predict`, `select` and `prune` on a byte-level BPE RoBERTa directory with no
/// vocab.txt (Tests/FTModelTests/Fixtures/roberta_tiny: tokenizer.json, a tiny random
/// `RobertaForSequenceClassification`): they load its tokenizer through `EncoderTokenizers.load`
/// and answer.
final class RobertaCommandTests: XCTestCase {
    static var model: String { TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/roberta_tiny").path }

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-roberta-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testTokenizeEqualsTheFastTokenizer() throws {
        let url = TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/roberta_tokenizer_cases.json")
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let single = try XCTUnwrap(cases["single"] as? [[String: Any]]).filter {
            guard let text = $0["text"] as? String else { return false }
            return !text.isEmpty && !text.contains("\n") && !text.contains("\r")
        }.prefix(10)
        let r = try FTTrainProcess.run(
            ["tokenize", "--model-dir", Self.model], stdin: single.map { $0["text"] as! String }.joined(separator: "\n") + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try r.stdout.split(separator: "\n").map { try JSONDecoder().decode([Int].self, from: Data($0.utf8)) }
        XCTAssertEqual(rows, single.map { $0["ids"] as? [Int] ?? [] })
    }

    func testEmbedPoolsEachTextAloneOrPadded() throws {
        let alone = try FTTrainProcess.run(["embed", "--model-dir", Self.model, "--normalize"], stdin: "Hello world!\n")
        XCTAssertEqual(alone.status, 0, alone.stderr)
        let batch = try FTTrainProcess.run(
            ["embed", "--model-dir", Self.model, "--normalize"], stdin: "Hello world!\nA much longer second line that pads the first one.\n")
        XCTAssertEqual(batch.status, 0, batch.stderr)
        let rows = try batch.stdout.split(separator: "\n").map { try JSONDecoder().decode([Float].self, from: Data($0.utf8)) }
        let single = try JSONDecoder().decode([Float].self, from: Data(alone.stdout.split(separator: "\n")[0].utf8))
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0].count, 32)
        XCTAssertEqual(rows[0].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5, "normalised")
        // RoBERTa's positions start after padding_idx and padding is masked: padding changes nothing.
        for (a, b) in zip(rows[0], single) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertGreaterThan(zip(rows[0], rows[1]).map { abs($0 - $1) }.max() ?? 0, 1e-3, "different texts, different vectors")
    }

    func testQuantizeEvaluatesAndPredictAnswers() throws {
        let eval = directory.appendingPathComponent("eval.csv")
        try "text,label\nHello world!,LABEL_0\nThe movie was good.,LABEL_1\nAn absolute masterpiece.,LABEL_2\nNot good at all.,LABEL_0\n"
            .write(to: eval, atomically: true, encoding: .utf8)
        let quantized = directory.appendingPathComponent("int8").path
        let q = try FTTrainProcess.run(
            ["quantize", "--model-dir", Self.model, "--output-dir", quantized, "--eval-file", eval.path, "--max-length", "16"])
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: quantized + "/tokenizer.json"))
        let input = directory.appendingPathComponent("in.txt")
        try "Hello world!\nThe movie was good.\n".write(to: input, atomically: true, encoding: .utf8)
        for model in [Self.model, quantized] {
            let p = try FTTrainProcess.run(["predict", "--model-dir", model, "--input", input.path, "--max-length", "16"])
            XCTAssertEqual(p.status, 0, p.stderr)
            let lines = p.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 2, p.stdout)
            for line in lines {
                let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                XCTAssertTrue(["LABEL_0", "LABEL_1", "LABEL_2"].contains(object["label"] as? String ?? ""), String(line))
            }
        }
    }

    func testSelectAndPruneLoadTheTokenizerJSON() throws {
        let pool = directory.appendingPathComponent("pool.csv")
        try "text\nHello world!\nThe movie was good.\nAn absolute masterpiece.\nNot good at all.\n".write(to: pool, atomically: true, encoding: .utf8)
        let selected = directory.appendingPathComponent("selected.csv").path
        let s = try FTTrainProcess.run(
            ["select", "--model-dir", Self.model, "--pool", pool.path, "--budget", "2", "--strategy", "entropy", "--output", selected])
        XCTAssertEqual(s.status, 0, s.stderr)
        let rows = try String(contentsOfFile: selected, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "text,score,rank")
        XCTAssertEqual(rows.count, 3)

        let eval = directory.appendingPathComponent("eval.csv")
        try "text,label\nHello world!,LABEL_0\nThe movie was good.,LABEL_1\nAn absolute masterpiece.,LABEL_2\n".write(
            to: eval, atomically: true, encoding: .utf8)
        let pruned = directory.appendingPathComponent("pruned").path
        let p = try FTTrainProcess.run(
            [
                "prune", "--model-dir", Self.model, "--output-dir", pruned, "--method", "heads", "--heads", "2", "--data-file", eval.path,
                "--eval-file", eval.path,
            ])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("pruned model on \(eval.path): accuracy"), p.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: pruned + "/tokenizer.json"))
    }
}

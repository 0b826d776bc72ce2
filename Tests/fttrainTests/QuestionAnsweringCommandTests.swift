import Foundation
import TestSupport
import XCTest

/// `fttrain train --task question_answering` and `fttrain predict` on its model from the command
/// line: the exported directory is a `BertForQuestionAnswering`, predict prints one answer object
/// per (question, context) row whose offsets cut its text from the context, and a model without
/// an input file is refused by name.
final class QuestionAnsweringCommandTests: TinyRunTestCase {
    func testTrainAndPredictAnswers() throws {
        var rows: [String] = []
        let adjectives = ["good", "great", "bad", "awful", "dull", "fine"]
        for k in 0..<24 {
            let a = adjectives[k % 6], b = adjectives[(k + 2) % 6]
            let context = "the film was \(a) . the movie was \(b) ! a man finds a city ."
            let asked = k % 2 == 0 ? "film" : "movie", answer = k % 2 == 0 ? a : b
            let start = context.distance(from: context.startIndex, to: context.range(of: "the \(asked) was ")!.upperBound)
            let row: [String: Any] = [
                "id": "q\(k)", "question": "the \(asked) was ?", "context": context, "answers": ["text": [answer], "answer_start": [start]],
            ]
            rows.append(String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self))
        }
        let train = directory.appendingPathComponent("qa.jsonl").path
        try (rows.joined(separator: "\n") + "\n").write(toFile: train, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("run").path
        let trained = try FTTrainProcess.run([
            "train", "--task", "question_answering", "--model-dir", directory.appendingPathComponent("model").path, "--train-file", train,
            "--output-dir", output, "--max-length", "24", "--doc-stride", "4", "--max-steps", "2", "--per-device-train-batch-size", "4",
            "--eval-strategy", "no", "--save-strategy", "no",
        ])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/model/config.json"))) as? [String: Any])
        XCTAssertEqual(config["architectures"] as? [String], ["BertForQuestionAnswering"])
        let metrics = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/metrics.json"))) as? [String: Any])
        XCTAssertNotNil(metrics["test_exact_match"] as? Double, "\(metrics.keys.sorted())")

        let pairs = directory.appendingPathComponent("pairs.jsonl").path
        let contexts = ["the film was good . the movie was dull ! a man finds a city .", "a woman finds the city ."]
        try contexts.map { "{\"question\": \"the film was ?\", \"context\": \"\($0)\"}" }.joined(separator: "\n")
            .write(toFile: pairs, atomically: true, encoding: .utf8)
        let predicted = try FTTrainProcess.run(["predict", "--model-dir", output + "/model", "--input", pairs, "--max-length", "24"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let lines = predicted.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.count, 2, predicted.stdout)
        for (line, context) in zip(lines, contexts) {
            let object = try XCTUnwrap(line)
            let answer = try XCTUnwrap(object["answer"] as? String)
            let start = try XCTUnwrap(object["start"] as? Int), end = try XCTUnwrap(object["end"] as? Int)
            XCTAssertEqual(String(String.UnicodeScalarView(Array(context.unicodeScalars)[start..<end])), answer)
            XCTAssertNotNil(object["score"] as? Double)
        }
        let standardInput = try FTTrainProcess.run(["predict", "--model-dir", output + "/model"], stdin: Data("a text\n".utf8))
        XCTAssertNotEqual(standardInput.status, 0)
        XCTAssertTrue(standardInput.stderr.contains("question-answering model needs --input"), standardInput.stderr)
    }
}

import Foundation
import TestSupport
import XCTest

/// Issue 22, a QA model beyond training: one LoRA run (`--task question_answering --peft lora`,
/// a few steps on the tiny encoder) writes `adapter/` (PEFT `QUESTION_ANS`, `qa_outputs` saved) and
/// the merged `model/`; `predict --adapter` over the base model answers as `predict` on `model/`
/// does (answers and offsets equal, scores within 1e-6), and `quantize --eval-file` on a SQuAD-format
/// file reports exact match, F1 and answer agreement of the INT8 model beside float32's.
final class QuestionAnsweringDeployCommandTests: TinyRunTestCase {
    /// The run's directory, trained once per test.
    private var run: String { directory.appendingPathComponent("run").path }
    private var base: String { directory.appendingPathComponent("model").path }

    /// "the film was good . the movie was dull ! …" with questions about the film or the movie.
    private func writeSquad(_ name: String, count: Int, offset: Int = 0) throws -> String {
        var rows: [String] = []
        let adjectives = ["good", "great", "bad", "awful", "dull", "fine"]
        for k in offset..<(offset + count) {
            let a = adjectives[k % 6], b = adjectives[(k / 6 + k + 2) % 6]
            let context = "the film was \(a) . the movie was \(b) ! a man finds a city ."
            let asked = k % 2 == 0 ? "film" : "movie", answer = k % 2 == 0 ? a : b
            let start = context.distance(from: context.startIndex, to: context.range(of: "the \(asked) was ")!.upperBound)
            let row: [String: Any] = [
                "id": "q\(k)", "question": "the \(asked) was ?", "context": context, "answers": ["text": [answer], "answer_start": [start]],
            ]
            rows.append(String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self))
        }
        let path = directory.appendingPathComponent(name).path
        try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func trainLoRA() throws {
        let train = try writeSquad("qa.jsonl", count: 24)
        let trained = try FTTrainProcess.run([
            "train", "--task", "question_answering", "--model-dir", base, "--train-file", train, "--output-dir", run,
            "--max-length", "24", "--doc-stride", "4", "--max-steps", "6", "--per-device-train-batch-size", "4",
            "--learning-rate", "1e-2", "--peft", "lora", "--lora-r", "4", "--lora-alpha", "8",
            "--eval-strategy", "no", "--save-strategy", "no", "--threads", "1",
        ])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/adapter/adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(config["task_type"] as? String, "QUESTION_ANS")
        XCTAssertEqual(config["modules_to_save"] as? [String], ["qa_outputs"])
    }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func testPredictWithAdapterEqualsMergedModel() throws {
        try trainLoRA()
        let pairs = directory.appendingPathComponent("pairs.jsonl").path
        let contexts = [
            "the film was good . the movie was dull ! a man finds a city .", "a woman finds the city .",
            "the movie was great , the film was awful . a story about a man who finds a city .",
        ]
        try contexts.enumerated().map { "{\"question\": \"the \($0.offset == 2 ? "movie" : "film") was ?\", \"context\": \"\($0.element)\"}" }
            .joined(separator: "\n").write(toFile: pairs, atomically: true, encoding: .utf8)
        let merged = try FTTrainProcess.run(["predict", "--model-dir", run + "/model", "--input", pairs, "--max-length", "24"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let adapted = try FTTrainProcess.run(["predict", "--model-dir", base, "--adapter", run + "/adapter", "--input", pairs, "--max-length", "24"])
        XCTAssertEqual(adapted.status, 0, adapted.stderr)
        let want = try jsonLines(merged.stdout), got = try jsonLines(adapted.stdout)
        XCTAssertEqual(want.count, contexts.count, merged.stdout)
        XCTAssertEqual(got.count, contexts.count, adapted.stdout)
        for (k, (g, w)) in zip(got, want).enumerated() {
            XCTAssertEqual(g["answer"] as? String, w["answer"] as? String, "pair \(k)")
            XCTAssertEqual(g["start"] as? Int, w["start"] as? Int, "pair \(k)")
            XCTAssertEqual(g["end"] as? Int, w["end"] as? Int, "pair \(k)")
            XCTAssertEqual(try XCTUnwrap(g["score"] as? Double), try XCTUnwrap(w["score"] as? Double), accuracy: 1e-6, "pair \(k)")
        }
        XCTAssertTrue(want.contains { !($0["answer"] as? String ?? "").isEmpty }, "the comparison covers spans")

        // Two adapters over one base: one line per pair and adapter, named.
        let twice = try FTTrainProcess.run([
            "predict", "--model-dir", base, "--adapter", "a=" + run + "/adapter", "--adapter", "b=" + run + "/adapter", "--input", pairs,
            "--max-length", "24",
        ])
        XCTAssertEqual(twice.status, 0, twice.stderr)
        let named = try jsonLines(twice.stdout)
        XCTAssertEqual(named.map { $0["adapter"] as? String }, Array(repeating: ["a", "b"], count: contexts.count).flatMap { $0 })
        XCTAssertEqual(named.map { $0["answer"] as? String }, want.flatMap { [$0["answer"] as? String, $0["answer"] as? String] })

        // A QA adapter beside a sequence classifier's over one base model is refused by name.
        let classifier = try FTTrainProcess.run([
            "train", "--model-dir", base, "--train-file", try writeData("train.csv", rows: 12), "--output-dir",
            directory.appendingPathComponent("cls").path, "--max-steps", "1", "--peft", "lora", "--lora-r", "4", "--eval-strategy", "no",
            "--save-strategy", "no", "--threads", "1",
        ])
        XCTAssertEqual(classifier.status, 0, classifier.stderr)
        let mixed = try FTTrainProcess.run([
            "predict", "--model-dir", base, "--adapter", "qa=" + run + "/adapter", "--adapter",
            "cls=" + directory.appendingPathComponent("cls/adapter").path, "--input", pairs,
        ])
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.stderr.contains("a sequence-classification adapter, but"), mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("is a question-answering adapter"), mixed.stderr)
    }

    /// `quantize` of the merged QA model: the INT8 directory answers through `predict`, and
    /// `--eval-file` on a SQuAD-format file reports float32's exact match as the test computes it
    /// from predict's answers, INT8's beside it, the deltas and the answer agreement.
    func testQuantizeReportsExactMatchAndF1() throws {
        try trainLoRA()
        let eval = try writeSquad("eval.jsonl", count: 12, offset: 30)
        let quantized = directory.appendingPathComponent("int8").path
        let result = try FTTrainProcess.run([
            "quantize", "--model-dir", run + "/model", "--output-dir", quantized, "--eval-file", eval, "--max-length", "24",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("exact match delta"), result.stdout)
        let report = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: quantized + "/quantization_eval.json"))) as? [String: Any])
        XCTAssertEqual(report["examples"] as? Int, 12)
        let float32 = try XCTUnwrap(report["float32"] as? [String: Double]), int8 = try XCTUnwrap(report["int8"] as? [String: Double])
        let agreement = try XCTUnwrap(report["agreement"] as? Double)
        XCTAssertEqual(try XCTUnwrap(report["exact_match_delta"] as? Double), int8["exact_match"]! - float32["exact_match"]!, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(report["f1_delta"] as? Double), int8["f1"]! - float32["f1"]!, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(agreement, 0.75, "INT8 keeps most answers of the float32 model (a random head would not)")

        // float32's exact match, recomputed from `predict` on the float32 model (one-word gold answers).
        let rows = try String(contentsOfFile: eval, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let golds = try rows.map { try XCTUnwrap(($0["answers"] as? [String: Any])?["text"] as? [String]).first! }
        let floatAnswers = try jsonLines(
            try XCTUnwrap(FTTrainProcess.run(["predict", "--model-dir", run + "/model", "--input", eval, "--max-length", "24"])).stdout)
        XCTAssertEqual(floatAnswers.count, 12)
        let matched = zip(floatAnswers, golds).filter { ($0["answer"] as? String) == $1 }.count
        XCTAssertEqual(float32["exact_match"]!, 100 * Double(matched) / 12, accuracy: 1e-9)

        // The INT8 directory answers through predict, agreeing with the report.
        let int8Run = try FTTrainProcess.run(["predict", "--model-dir", quantized, "--input", eval, "--max-length", "24"])
        XCTAssertEqual(int8Run.status, 0, int8Run.stderr)
        let int8Answers = try jsonLines(int8Run.stdout)
        XCTAssertEqual(int8Answers.count, 12)
        let same = zip(int8Answers, floatAnswers).filter {
            $0["answer"] as? String == $1["answer"] as? String && $0["start"] as? Int == $1["start"] as? Int
        }.count
        XCTAssertEqual(Double(same) / 12, agreement, accuracy: 1e-9)
    }
}

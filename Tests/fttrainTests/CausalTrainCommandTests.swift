import Foundation
import TestSupport
import XCTest

/// `fttrain train` on a decoder model picks the causal-LM task, and `fttrain generate` runs what it
/// wrote: the merged model and the base model with the LoRA adapter answer alike.
final class CausalTrainCommandTests: XCTestCase {
    func testTrainLoRAThenGenerateWithTheAdapterAndTheMergedModel() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-sft-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("model")
        try TinyLlamaDirectory.write(to: model)
        var rows = ["text,label"]
        for i in 0..<24 { rows.append("item \(i),\(i % 3 == 0 ? "plot" : "fresh")") }
        let data = directory.appendingPathComponent("train.csv")
        try (rows.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("run")
        let train = try FTTrainProcess.run([
            "train", "--model-dir", model.path, "--train-file", data.path, "--output-dir", output.path,
            "--prompt-template", "Classify: {text}", "--chat-template", "true", "--max-steps", "4",
            "--per-device-train-batch-size", "4", "--learning-rate", "1e-2", "--peft", "lora", "--lora-r", "4",
            "--lora-target-modules", "q_proj,v_proj", "--predict-with-generate", "true", "--generation-max-new-tokens", "3",
            "--logging-steps", "1", "--threads", "1",
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("metrics.json"))) as? [String: Double]
        for key in ["eval_loss", "eval_perplexity", "eval_exact_match", "eval_accuracy", "test_loss"] {
            XCTAssertNotNil(metrics?[key], key)
        }
        for file in ["adapter/adapter_config.json", "model/config.json", "model/tokenizer.json", "generations.jsonl", "data/train.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), file)
        }
        let prompt = ["--chat", "--prompt", "Classify: item 3", "--max-new-tokens", "5", "--threads", "1"]
        let adapted = try FTTrainProcess.run(
            ["generate", "--model", model.path, "--adapter", output.appendingPathComponent("adapter").path] + prompt)
        XCTAssertEqual(adapted.status, 0, adapted.stderr)
        let merged = try FTTrainProcess.run(["generate", "--model", output.appendingPathComponent("model").path] + prompt)
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertEqual(adapted.stdout, merged.stdout)
    }
}

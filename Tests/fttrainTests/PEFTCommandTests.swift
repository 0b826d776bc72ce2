import FTCore
import Foundation
import TestSupport
import XCTest

/// `fttrain train --peft lora` and freezing end to end on the tiny model, and
/// `fttrain predict --adapter`, through the built binary.
final class PEFTCommandTests: TinyRunTestCase {
    func json(_ line: Substring) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    }

    func predict(_ arguments: [String], input: String) throws -> [[String: Any]] {
        let result = try FTTrainProcess.run(["predict", "--input", input, "--max-length", "16"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try result.stdout.split(separator: "\n").map(json)
    }

    func testLoRARunWritesAdapterBesideMergedModelThatPredictAlike() throws {
        let (result, output) = try train([
            "--peft", "lora", "--lora-r", "4", "--lora-alpha", "8",
            "--lora-target-modules", "query,value,output.dense", "--learning-rate", "1e-2", "--num-train-epochs", "30",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        // 2 layers × (query, value: 2·(4·32) each; attention.output.dense and output.dense (in 64): 4·32 + 32·4, 4·64 + 32·4) + head 3·32 + 3
        let trainable = 2 * (2 * 256 + 256 + 384) + 99
        XCTAssertEqual(trainable, 2403)
        XCTAssertTrue(result.stderr.contains("trainable params: 2,403 || all params: "), "PEFT's trainable line: \(result.stderr)")
        for file in [
            "adapter/adapter_config.json", "adapter/adapter_model.safetensors", "adapter/labels.json",
            "model/config.json", "model/model.safetensors",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), "missing \(file)")
        }
        let adapter = try SafeTensorsFile(path: output.appendingPathComponent("adapter/adapter_model.safetensors").path)
        XCTAssertEqual(adapter.parameterCount, trainable, "the adapter holds exactly what was trained")
        XCTAssertNotNil(adapter.info("base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight"))
        XCTAssertNotNil(adapter.info("base_model.model.classifier.weight"), "the head is saved with the adapter")
        let merged = try SafeTensorsFile(path: output.appendingPathComponent("model/model.safetensors").path)
        XCTAssertFalse(merged.tensors.contains { $0.name.contains("lora") }, "model/ is a plain merged model")

        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("metrics.json"))) as! [String: Double]
        let losses = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try json($0)["loss"] as? Double }
        XCTAssertLessThan(losses.last!, losses.first! * 0.5, "the loss falls: \(losses)")
        // Frozen random tiny encoder: LoRA learns to rank the classes well before it calibrates them.
        XCTAssertGreaterThan(metrics["test_auc_macro"]!, 0.9, "LoRA and the head learn the three classes \(metrics)")
        let test = output.appendingPathComponent("data/test.jsonl").path
        let viaMerged = try predict(["--model-dir", output.appendingPathComponent("model").path], input: test)
        let viaAdapter = try predict(
            [
                "--model-dir", directory.appendingPathComponent("model").path,
                "--adapter", output.appendingPathComponent("adapter").path,
            ], input: test)
        XCTAssertEqual(viaMerged.count, viaAdapter.count)
        for (m, a) in zip(viaMerged, viaAdapter) {
            XCTAssertEqual(m["label"] as? String, a["label"] as? String)
            let pm = m["probabilities"] as! [String: Double], pa = a["probabilities"] as! [String: Double]
            XCTAssertEqual(Set(pm.keys), ["fresh", "rotten", "plot"], "labels come from the adapter's labels.json")
            for (label, p) in pm { XCTAssertEqual(p, pa[label]!, accuracy: 1e-5, "merged vs base + adapter") }
        }
        // Two adapters over one base: the same adapter twice under two names gives the same lines.
        let twice = try predict(
            [
                "--model-dir", directory.appendingPathComponent("model").path,
                "--adapter", "one=" + output.appendingPathComponent("adapter").path,
                "--adapter", "two=" + output.appendingPathComponent("adapter").path,
            ], input: test)
        XCTAssertEqual(twice.count, 2 * viaAdapter.count)
        XCTAssertEqual(twice.compactMap { $0["adapter"] as? String }.prefix(2), ["one", "two"])
    }

    func testFreezingLogsTrainableCountAndRejectsBadLayers() throws {
        let (result, output) = try train(["--freeze-embeddings", "--freeze-layers", "0", "--max-steps", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        // Layer 1 (8,544), the pooler (1,056) and the head (99) train; embeddings and layer 0 do not.
        XCTAssertTrue(result.stderr.contains("trainable params: 9,699 || all params: "), result.stderr)
        try FileManager.default.removeItem(at: output)
        try assertFails(["--freeze-layers", "0-5"], mentions: ["freeze_layers", "2 layers"])
        try assertFails(["--freeze-layers", "one"], mentions: ["freeze_layers", "one"])
        try assertFails(["--peft", "lora", "--lora-target-modules", "classifier"], mentions: ["classifier", "modules_to_save"])
        try assertFails(["--peft", "lora", "--lora-target-modules", "qkv"], mentions: ["qkv", "matches no linear module"])
        try assertFails(["--lora-target-modules", "key"], mentions: ["lora_target_modules", "peft"])
    }

    func testAdapterRejections() throws {
        let base = directory.appendingPathComponent("model").path
        let missing = try FTTrainProcess.run(
            ["predict", "--model-dir", base, "--adapter", directory.appendingPathComponent("nope").path],
            stdin: "good film\n")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope"), missing.stderr)
        let broken = directory.appendingPathComponent("broken-adapter")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": "q.*", "use_dora": false}"#
            .write(to: broken.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        let regex = try FTTrainProcess.run(["predict", "--model-dir", base, "--adapter", broken.path], stdin: "good film\n")
        XCTAssertNotEqual(regex.status, 0)
        XCTAssertTrue(regex.stderr.contains("regular expression"), regex.stderr)
    }
}

/// `--peft adapter`: bottleneck adapters trained alone with the head, saved in adapter/ and used
/// by `fttrain predict --adapter`.
final class BottleneckCommandTests: TinyRunTestCase {
    func testAdapterRunTrainsAdaptersAloneAndPredictsThroughThem() throws {
        let (result, output) = try train([
            "--peft", "adapter", "--adapter-reduction-factor", "4", "--learning-rate", "1e-2",
            "--num-train-epochs", "2",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        // 2 layers × (down 8×32 + 8, up 32×8 + 32) + head 3×32 + 3
        XCTAssertTrue(result.stderr.contains("trainable params: 1,203 || all params: "), result.stderr)
        XCTAssertTrue(result.stderr.contains("no model/"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("model").path))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("metrics.json"))) as! [String: Double]
        let test = output.appendingPathComponent("data/test.jsonl").path
        let predicted = try FTTrainProcess.run([
            "predict", "--model-dir", directory.appendingPathComponent("model").path,
            "--adapter", output.appendingPathComponent("adapter").path,
            "--input", test, "--max-length", "16",
        ])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let truth = try String(contentsOfFile: test, encoding: .utf8).split(separator: "\n")
            .map { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["label"] as! String }
        let rows = try predicted.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let correct = zip(rows, truth).filter { ($0.0["label"] as! String) == $0.1 }.count
        XCTAssertEqual(
            Double(correct) / Double(truth.count), metrics["test_accuracy"]!, accuracy: 1e-9,
            "predict through the saved adapter reproduces the run's test accuracy")
        // On this toy model (weights ~ N(0, 0.02)) the feed-forward outputs the adapters see are ~1e-3,
        // and PyTorch with the same adapters does not get below the class prior in 15 epochs either;
        // LoRA on the same model does. So here: the adapters moved away from the identity and were saved.
        let adapter = try SafeTensorsFile(path: output.appendingPathComponent("adapter/adapter_model.safetensors").path)
        XCTAssertEqual(adapter.parameterCount, 1203)
        let up = try adapter.floats("base_model.model.bert.encoder.layer.1.output.adapter.up.weight")
        XCTAssertTrue(up.contains { $0 != 0 }, "the up-projection trained away from zero")
    }
}

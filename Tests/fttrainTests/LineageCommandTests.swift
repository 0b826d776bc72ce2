import Foundation
import TestSupport
import XCTest

/// `lineage.json` and `fttrain lineage` end to end: the record of a tiny train run (sums equal to
/// `sha256sum`'s, split sums that follow the seed, settings, metrics equal to metrics.json), the
/// parent of a resumed run and of prune/quantize outputs, the printed chain, and malformed files.
final class LineageCommandTests: TinyRunTestCase {
    /// A short run into `name` (under the test directory); extra flags last.
    private func run(_ name: String, seed: Int = 3, model: URL? = nil, data: String? = nil) throws -> URL {
        let output = directory.appendingPathComponent(name)
        let trainFile = try data ?? writeData("train.csv", rows: 60)
        let r = try FTTrainProcess.run(
            [
                "train", "--model-dir", (model ?? directory.appendingPathComponent("model")).path, "--train-file", trainFile,
                "--output-dir", output.path, "--num-train-epochs", "2", "--per-device-train-batch-size", "8",
                "--learning-rate", "3e-3", "--logging-steps", "5", "--seed", String(seed), "--max-length", "16",
                "--save-strategy", "no",
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        return output
    }

    private func object(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], url.path)
    }

    private func lineage(_ directory: URL) throws -> [String: Any] {
        try object(directory.appendingPathComponent("lineage.json"))
    }

    /// `sha256sum`'s sum of a file: an implementation independent of fttrain's.
    private func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(String(decoding: out, as: UTF8.self).prefix(64))
    }

    private func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", TestAssets.packageRoot.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func testTrainRunRecordsInputsSplitsSettingsAndMetrics() throws {
        let data = try writeData("train.csv", rows: 60)
        let output = try run("seed3", data: data)
        let record = try lineage(output)
        XCTAssertEqual(record["format"] as? String, "fttrain-lineage/1")
        XCTAssertEqual(record["command"] as? String, "train")
        // The model directory carries the same record.
        XCTAssertEqual(
            try Data(contentsOf: output.appendingPathComponent("lineage.json")),
            try Data(contentsOf: output.appendingPathComponent("model/lineage.json")))
        let runId = try XCTUnwrap(record["run_id"] as? String)
        XCTAssertEqual(runId.count, 64)
        XCTAssertNotNil(ISO8601DateFormatter().date(from: String((record["created"] as? String ?? "").prefix(19)) + "Z"))
        XCTAssertNotNil(record["fttrain_version"] as? String)
        // The commit of the checkout the binary was built from (the tests run in it).
        XCTAssertEqual(record["git_commit"] as? String, git(["rev-parse", "HEAD"]))
        XCTAssertNotNil(record["git_dirty"] as? Bool)

        // Inputs and the base model: fttrain's sums equal sha256sum's.
        let inputs = try XCTUnwrap(record["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.count, 1)
        XCTAssertEqual(inputs[0]["role"] as? String, "train")
        XCTAssertEqual(inputs[0]["path"] as? String, data)
        XCTAssertEqual(inputs[0]["sha256"] as? String, try sha256sum(data))
        XCTAssertEqual(inputs[0]["bytes"] as? Int, try Data(contentsOf: URL(fileURLWithPath: data)).count)
        let base = try XCTUnwrap(record["base_model"] as? [String: Any])
        let weights = directory.appendingPathComponent("model/model.safetensors").path
        XCTAssertEqual(base["sha256"] as? String, try sha256sum(weights))
        XCTAssertTrue(record["parent"] is NSNull, "a run from a plain Hugging Face model has no parent")

        // Settings: every setting as the run used it, and the resolved values.
        let settings = try XCTUnwrap(record["settings"] as? [String: Any])
        XCTAssertEqual(settings["seed"] as? Int, 3)
        XCTAssertEqual(settings["learning_rate"] as? Double, 3e-3)
        XCTAssertEqual(settings["num_train_epochs"] as? Double, 2)
        XCTAssertEqual(settings["train_file"] as? String, data)
        let resolved = try XCTUnwrap(settings["resolved"] as? [String: Any])
        XCTAssertEqual(resolved["task"] as? String, "sequence_classification")
        XCTAssertEqual(resolved["train_examples"] as? Int, 48)

        // Metrics: exactly metrics.json's.
        let metrics = try XCTUnwrap(record["metrics"] as? [String: Double])
        let written = try XCTUnwrap(try object(output.appendingPathComponent("metrics.json")) as? [String: Double])
        XCTAssertEqual(metrics, written)
        XCTAssertNotNil(metrics["eval_accuracy"])

        // Splits: the same data and seed give the same sums; another seed another split.
        let split3 = try XCTUnwrap(record["split"] as? [String: String])
        XCTAssertEqual(Set(split3.keys), ["train", "validation", "test"])
        let again = try XCTUnwrap(try lineage(try run("seed3-again", data: data))["split"] as? [String: String])
        XCTAssertEqual(again, split3)
        let seed4 = try lineage(try run("seed4", seed: 4, data: data))
        let split4 = try XCTUnwrap(seed4["split"] as? [String: String])
        for name in ["train", "validation", "test"] { XCTAssertNotEqual(split4[name], split3[name], name) }
        XCTAssertEqual((seed4["inputs"] as? [[String: Any]])?.first?["sha256"] as? String, inputs[0]["sha256"] as? String)
        XCTAssertNotEqual(seed4["run_id"] as? String, runId)
    }

    func testResumedRunNamesItsCheckpointAsParent() throws {
        let output = directory.appendingPathComponent("out")
        let data = try writeData("train.csv", rows: 60)
        let arguments = [
            "train", "--model-dir", directory.appendingPathComponent("model").path, "--train-file", data,
            "--output-dir", output.path, "--max-steps", "8", "--per-device-train-batch-size", "8", "--learning-rate", "3e-3",
            "--seed", "3", "--max-length", "16", "--save-strategy", "steps", "--save-steps", "4",
        ]
        let first = try FTTrainProcess.run(arguments)
        XCTAssertEqual(first.status, 0, first.stderr)
        let checkpoint = output.appendingPathComponent("checkpoint-4")
        let checkpointRecord = try lineage(checkpoint)
        XCTAssertEqual(checkpointRecord["step"] as? Int, 4)
        XCTAssertEqual((checkpointRecord["metrics"] as? [String: Any])?.count, 0)

        let resumed = try FTTrainProcess.run(arguments + ["--resume-from", checkpoint.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let record = try lineage(output)
        let parent = try XCTUnwrap(record["parent"] as? [String: Any])
        XCTAssertEqual(parent["path"] as? String, checkpoint.standardizedFileURL.path)
        XCTAssertEqual(parent["run_id"] as? String, checkpointRecord["run_id"] as? String)
        XCTAssertEqual(record["split"] as? [String: String], checkpointRecord["split"] as? [String: String])

        let chain = try FTTrainProcess.run(["lineage", output.path])
        XCTAssertEqual(chain.status, 0, chain.stderr)
        XCTAssertTrue(chain.stdout.contains("checkpoint at step 4"), chain.stdout)
        XCTAssertEqual(chain.stdout.components(separatedBy: "  run ").count - 1, 2, chain.stdout)
    }

    func testPruneAndQuantizeOutputsChainBackToTheTrainRun() throws {
        let output = try run("out")
        let model = output.appendingPathComponent("model").path
        let trained = try lineage(output.appendingPathComponent("model"))
        let pruned = directory.appendingPathComponent("pruned")
        let p = try FTTrainProcess.run(
            ["prune", "--model-dir", model, "--output-dir", pruned.path, "--method", "magnitude", "--sparsity", "0.5"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let pruneRecord = try lineage(pruned)
        XCTAssertEqual(pruneRecord["command"] as? String, "prune")
        XCTAssertEqual((pruneRecord["parent"] as? [String: Any])?["run_id"] as? String, trained["run_id"] as? String)
        XCTAssertEqual((pruneRecord["parent"] as? [String: Any])?["path"] as? String, URL(fileURLWithPath: model).standardizedFileURL.path)
        XCTAssertEqual((pruneRecord["settings"] as? [String: Any])?["sparsity"] as? Double, 0.5)

        let quantized = directory.appendingPathComponent("int8")
        let q = try FTTrainProcess.run(["quantize", "--model-dir", pruned.path, "--output-dir", quantized.path])
        XCTAssertEqual(q.status, 0, q.stderr)
        let quantizeRecord = try lineage(quantized)
        XCTAssertEqual(quantizeRecord["command"] as? String, "quantize")
        XCTAssertEqual((quantizeRecord["parent"] as? [String: Any])?["run_id"] as? String, pruneRecord["run_id"] as? String)
        XCTAssertEqual((quantizeRecord["base_model"] as? [String: Any])?["sha256"] as? String, try sha256sum(pruned.path + "/model.safetensors"))

        // The printed chain: quantize → prune → train, newest first, with short sums.
        let chain = try FTTrainProcess.run(["lineage", quantized.path])
        XCTAssertEqual(chain.status, 0, chain.stderr)
        let commands = chain.stdout.split(separator: "\n").filter { $0.hasPrefix("  run ") }.map {
            $0.split(separator: " ").last.map(String.init) ?? ""
        }
        XCTAssertEqual(commands, ["quantize", "prune", "train"], chain.stdout)
        let inputSum = try XCTUnwrap((trained["inputs"] as? [[String: Any]])?.first?["sha256"] as? String)
        XCTAssertTrue(chain.stdout.contains(String(inputSum.prefix(12))), chain.stdout)
        XCTAssertTrue(chain.stdout.contains("eval_accuracy"), chain.stdout)

        let json = try FTTrainProcess.run(["lineage", quantized.path, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let links = try XCTUnwrap(parsed["chain"] as? [[String: Any]])
        XCTAssertEqual(
            links.compactMap { ($0["lineage"] as? [String: Any])?["run_id"] as? String },
            [quantizeRecord, pruneRecord, trained].compactMap { $0["run_id"] as? String })
        XCTAssertEqual((parsed["end"] as? [String: Any])?["kind"] as? String, "origin")

        // A parent moved away is reported, not a crash.
        try FileManager.default.moveItem(at: pruned, to: directory.appendingPathComponent("moved"))
        let broken = try FTTrainProcess.run(["lineage", quantized.path])
        XCTAssertEqual(broken.status, 0, broken.stderr)
        XCTAssertTrue(broken.stdout.contains("parent \(pruned.path) is missing"), broken.stdout)
    }

    func testMalformedLineageIsAnErrorNamingTheFile() throws {
        let bad = directory.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        let file = bad.appendingPathComponent("lineage.json")
        try "{\"format\": \"fttrain-lineage/1\", \"run_id\": ".write(to: file, atomically: true, encoding: .utf8)
        let notJSON = try FTTrainProcess.run(["lineage", bad.path])
        XCTAssertNotEqual(notJSON.status, 0)
        XCTAssertTrue(notJSON.stderr.contains(file.path) && notJSON.stderr.contains("not JSON"), notJSON.stderr)

        // A valid record with one field of the wrong type.
        let output = try run("out")
        var record = try lineage(output)
        record["metrics"] = "high"
        try JSONSerialization.data(withJSONObject: record).write(to: file)
        let wrongType = try FTTrainProcess.run(["lineage", bad.path])
        XCTAssertNotEqual(wrongType.status, 0)
        XCTAssertTrue(wrongType.stderr.contains(file.path) && wrongType.stderr.contains("\"metrics\" must be an object"), wrongType.stderr)

        record["format"] = "something-else/2"
        try JSONSerialization.data(withJSONObject: record).write(to: file)
        let format = try FTTrainProcess.run(["lineage", bad.path])
        XCTAssertNotEqual(format.status, 0)
        XCTAssertTrue(format.stderr.contains("something-else/2"), format.stderr)

        let none = try FTTrainProcess.run(["lineage", directory.path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("no lineage.json"), none.stderr)
    }

    /// A model written as one file (GGUF) gets its record beside it (`FILE.lineage.json`), and
    /// `fttrain lineage FILE` finds it.
    func testExportWritesTheRecordBesideTheFile() throws {
        let llama = directory.appendingPathComponent("llama")
        try TinyLlamaDirectory.write(to: llama)
        let gguf = directory.appendingPathComponent("tiny.gguf")
        let r = try FTTrainProcess.run(["export", "--model", llama.path, "--format", "gguf", "--output", gguf.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let record = try object(URL(fileURLWithPath: gguf.path + ".lineage.json"))
        XCTAssertEqual(record["command"] as? String, "export")
        XCTAssertEqual((record["base_model"] as? [String: Any])?["sha256"] as? String, try sha256sum(llama.path + "/model.safetensors"))
        XCTAssertEqual((record["parent"] as? [String: Any])?["path"] as? String, llama.standardizedFileURL.path)
        XCTAssertTrue((record["parent"] as? [String: Any])?["run_id"] is NSNull, "the source has no record")
        let chain = try FTTrainProcess.run(["lineage", gguf.path])
        XCTAssertEqual(chain.status, 0, chain.stderr)
        XCTAssertTrue(chain.stdout.contains("export"), chain.stdout)
        XCTAssertTrue(
            chain.stdout.contains("parent \(llama.standardizedFileURL.path) has no lineage.json: a model fttrain did not make"), chain.stdout)
    }

    /// A LoRA run on a decoder writes its record into `adapter/` too; exporting the base with that
    /// adapter merged names the adapter's run as parent.
    func testMergedAdapterExportNamesTheAdapterRunAsParent() throws {
        let llama = directory.appendingPathComponent("llama")
        try TinyLlamaDirectory.write(to: llama)
        var rows = ["text,label"]
        for i in 0..<24 { rows.append("item \(i),\(i % 3 == 0 ? "plot" : "fresh")") }
        let data = directory.appendingPathComponent("sft.csv")
        try (rows.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("sft")
        let train = try FTTrainProcess.run([
            "train", "--model-dir", llama.path, "--train-file", data.path, "--output-dir", output.path,
            "--prompt-template", "Classify: {text}", "--max-steps", "2", "--per-device-train-batch-size", "4",
            "--learning-rate", "1e-2", "--peft", "lora", "--lora-r", "4", "--lora-target-modules", "q_proj,v_proj", "--threads", "1",
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let adapter = output.appendingPathComponent("adapter")
        let trained = try lineage(adapter)
        XCTAssertEqual(
            try Data(contentsOf: adapter.appendingPathComponent("lineage.json")), try Data(contentsOf: output.appendingPathComponent("lineage.json")))
        XCTAssertEqual((trained["settings"] as? [String: Any]).flatMap { $0["resolved"] as? [String: Any] }?["task"] as? String, "causal_lm")
        XCTAssertEqual((trained["split"] as? [String: String])?.keys.sorted(), ["test", "train", "validation"])

        let gguf = directory.appendingPathComponent("merged.gguf")
        let r = try FTTrainProcess.run(["export", "--model", llama.path, "--adapter", adapter.path, "--format", "gguf", "--output", gguf.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let record = try object(URL(fileURLWithPath: gguf.path + ".lineage.json"))
        XCTAssertEqual((record["parent"] as? [String: Any])?["run_id"] as? String, trained["run_id"] as? String)
        let inputs = try XCTUnwrap(record["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.first?["role"] as? String, "adapter")
        XCTAssertEqual(inputs.first?["sha256"] as? String, try sha256sum(adapter.path + "/adapter_model.safetensors"))
        let chain = try FTTrainProcess.run(["lineage", gguf.path])
        XCTAssertEqual(chain.status, 0, chain.stderr)
        let commands = chain.stdout.split(separator: "\n").filter { $0.hasPrefix("  run ") }.map {
            $0.split(separator: " ").last.map(String.init) ?? ""
        }
        XCTAssertEqual(commands, ["export", "train"], chain.stdout)
    }

    /// A run fine-tuning a model fttrain made names that model's run as parent.
    func testTrainingFromAFineTunedModelNamesItsRunAsParent() throws {
        let first = try run("first")
        let second = try run("second", model: first.appendingPathComponent("model"))
        let parent = try XCTUnwrap(try lineage(second)["parent"] as? [String: Any])
        XCTAssertEqual(parent["run_id"] as? String, try lineage(first.appendingPathComponent("model"))["run_id"] as? String)
        XCTAssertEqual(parent["path"] as? String, first.appendingPathComponent("model").standardizedFileURL.path)
        let chain = try FTTrainProcess.run(["lineage", second.appendingPathComponent("model").path, "--json"])
        XCTAssertEqual(chain.status, 0, chain.stderr)
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(chain.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((parsed["chain"] as? [[String: Any]])?.count, 2)
    }
}

import FTTrain
import Foundation
import TestSupport
import XCTest

/// The `lineage.json` reader in the seeded fuzzer (see FuzzTests): records with every field set, and
/// a minimal one, mutated as text; every input must read (and print as a chain) or fail with an
/// error naming the file. Budget 2 s.
extension FuzzTests {
    func testFuzzLineage() throws {
        var full = LineageRecord(
            command: "train", created: Date(timeIntervalSince1970: 1.8e9),
            inputs: [LineageInput(role: "train", path: "data/train.csv", sha256: String(repeating: "a", count: 64), bytes: 2766)],
            split: ["train": String(repeating: "b", count: 64), "test": String(repeating: "c", count: 64)],
            baseModel: LineageModel(
                path: "model", sha256: String(repeating: "d", count: 64),
                files: [LineageInput(role: "weights", path: "model.safetensors", sha256: String(repeating: "d", count: 64), bytes: 91000)]),
            settings: ["learning_rate": 0.01, "seed": 42, "resolved": ["task": "sequence_classification"]],
            metrics: ["eval_accuracy": 0.75, "train_steps": 140],
            parent: LineageParent(runId: String(repeating: "e", count: 64), path: "/nowhere/checkpoint-70"),
            step: 70, environment: LineageEnvironment(gitCommit: String(repeating: "f", count: 40), gitDirty: true))
        var minimal = LineageRecord(command: "quantize", environment: LineageEnvironment(gitCommit: nil, gitDirty: nil))
        let seeds = [Array(try full.finalize()), Array(try minimal.finalize())]
        var mutator = Mutator(
            seed: 121, seeds: seeds,
            dictionary: [
                "\"format\"", "\"run_id\"", "\"inputs\"", "\"bytes\"", "\"parent\"", "\"metrics\"", "\"split\"", "\"base_model\"",
                "\"created\"", "null", "true", "[]", "{}", "1e999", "-0", "\"fttrain-lineage/1\"",
            ], text: true)
        let report = try Fuzz.run("lineage", cases: 3000, fileName: "lineage.json", budget: 2, next: { mutator.next() }) { path, _ in
            _ = try LineageRecord.read(file: path)
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try Fuzz.alsoRun("LineageChain", names: [path, "lineage.json"]) {
                let chain = try LineageChain.follow(from: directory)
                _ = chain.text()
                _ = try chain.json()
            }
        }
        Fuzz.check(report)
    }
}

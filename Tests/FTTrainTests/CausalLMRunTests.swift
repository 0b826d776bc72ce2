import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// The causal-LM path of `TrainingRun` end to end over a bigram model and the byte-level test
/// tokenizer (`TestSupport`): the task is picked from the model, the loss falls, evaluation gives
/// loss, perplexity and scored generations, and a stopped run resumes bit for bit.
final class CausalLMRunTests: XCTestCase {
    var directory: URL!
    var savedThreads = 1

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("causal-lm-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try BigramLanguageModel.writeDirectory(to: directory.appendingPathComponent("model"), vocabularySize: 259)
        // Labelled rows: the answer's first letter follows ':' with the label's own statistics.
        var lines = ["text,label"]
        for i in 0..<48 { lines.append("review \(i),\(["x", "y"][i % 2])") }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDownWithError() throws {
        Parallel.threadCount = savedThreads
        try? FileManager.default.removeItem(at: directory)
    }

    func configuration(_ name: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.outputDir = directory.appendingPathComponent(name).path
        c.modelDir = directory.appendingPathComponent("model").path
        c.trainFile = directory.appendingPathComponent("train.csv").path
        c.promptTemplate = "{text}:"
        c.completionTemplate = "{label}"
        c.maxSteps = 24
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 0.3
        c.loggingSteps = 1
        c.saveStrategy = .steps
        c.saveSteps = 8
        c.maxLength = 32
        c.predictWithGenerate = true
        c.generationMaxNewTokens = 3
        c.splitRatios = [0.75, 0.25, 0]
        return c
    }

    func makeRun(_ c: TrainingConfiguration) -> TrainingRun {
        let run = TrainingRun(configuration: c)
        run.causalModelLoader = { path, _ in
            XCTAssertTrue(CausalModelLoading.isCausalModel(path: path))
            return CausalModelLoading.Loaded(model: BigramLanguageModel(vocabularySize: 259), tokenizer: ByteTestTokenizer())
        }
        return run
    }

    func testTrainsEvaluatesAndScoresGenerations() throws {
        let c = configuration("run")
        let metrics = try makeRun(c).run()
        print("causal-LM run metrics:", metrics.filter { $0.key.hasPrefix("eval_") }.sorted { $0.key < $1.key })
        let losses = try logRecords(URL(fileURLWithPath: c.outputDir!)).train.map { $0[1] }
        XCTAssertEqual(losses.count, 24)
        XCTAssertLessThan(losses.suffix(4).reduce(0, +) / 4, losses.prefix(4).reduce(0, +) / 4 * 0.7, "the loss falls: \(losses)")
        let evalLoss = try XCTUnwrap(metrics["eval_loss"])
        XCTAssertLessThan(evalLoss, log(259.0) * 0.6, "below the uniform model's loss")
        XCTAssertEqual(try XCTUnwrap(metrics["eval_perplexity"]), exp(evalLoss), accuracy: 1e-9)
        // 12 validation examples, each " x" or " y" then EOS after the prompt: two targets each.
        XCTAssertEqual(metrics["eval_tokens"], 24)
        XCTAssertEqual(metrics["eval_generated"], 12)
        XCTAssertNotNil(metrics["eval_exact_match"])
        XCTAssertNotNil(metrics["eval_accuracy"])
        let output = URL(fileURLWithPath: c.outputDir!)
        let generations = try String(contentsOf: output.appendingPathComponent("generations.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(generations.count, 12)
        for row in generations {
            XCTAssertNotNil(row["prompt"] as? String)
            XCTAssertNotNil(row["generated"] as? String)
            XCTAssertTrue(["x", "y"].contains(row["expected"] as? String ?? ""))
            XCTAssertEqual(row["correct"] as? Bool, CausalLMEvaluation.normalize(row["generated"] as! String) == row["expected"] as? String)
        }
        let split = try String(contentsOf: output.appendingPathComponent("data/train.jsonl"), encoding: .utf8)
        XCTAssertTrue(split.contains("\"prompt\":\"review"), split)
    }

    func testStoppedAndResumedRunIsBitwiseTheUninterruptedOne() throws {
        let whole = configuration("whole")
        try makeRun(whole).run()
        let split = configuration("split")
        let first = makeRun(split)
        first.stopRequested = StopAtStep(13).callAsFunction
        XCTAssertThrowsError(try first.run()) { XCTAssertTrue($0 is TrainingInterrupted, "\($0)") }
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try makeRun(resume).run()
        let a = try logRecords(URL(fileURLWithPath: whole.outputDir!)), b = try logRecords(URL(fileURLWithPath: split.outputDir!))
        XCTAssertEqual(a.train.count, 24)
        XCTAssertEqual(a.train, b.train, "loss, grad_norm and learning_rate of every step")
        let modelA = try Data(contentsOf: URL(fileURLWithPath: whole.outputDir!).appendingPathComponent("model/model.safetensors"))
        let modelB = try Data(contentsOf: URL(fileURLWithPath: split.outputDir!).appendingPathComponent("model/model.safetensors"))
        XCTAssertEqual(modelA, modelB, "final parameters")
    }

    /// A `.gguf` base: `base_model/` (config and tokenizer files) stands in for the model
    /// directory, and `model/` is exported from it.
    func testGGUFBaseGetsABaseDirectoryForTheExports() throws {
        let gguf = directory.appendingPathComponent("weights.gguf")
        try Data().write(to: gguf)
        var c = configuration("gguf")
        c.modelDir = gguf.path
        c.maxSteps = 2
        c.predictWithGenerate = false
        let run = makeRun(c)
        let loader = run.causalModelLoader
        run.causalModelLoader = { path, configuration in
            let loaded = try loader(path, configuration)
            // The tokenizer files a GGUF base gives its base directory (the export reads their special ids).
            return CausalModelLoading.Loaded(model: loaded.model, tokenizer: loaded.tokenizer) { directory in
                for file in ["tokenizer.json", "tokenizer_config.json"] {
                    try FileManager.default.copyItem(
                        at: TinyLlamaDirectory.tokenizerFixture.appendingPathComponent(file), to: directory.appendingPathComponent(file))
                }
            }
        }
        try run.run()
        let output = URL(fileURLWithPath: c.outputDir!)
        for file in ["base_model/config.json", "base_model/tokenizer.json", "model/config.json", "model/model.safetensors", "model/tokenizer.json", "model/generation_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), file)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("model/config.json"))) as? [String: Any]
        XCTAssertEqual(config?["architectures"] as? [String], ["BigramForCausalLM"])
    }

    func testTaskMustFitTheModel() throws {
        var c = configuration("mismatch")
        c.task = .sequenceClassification
        XCTAssertThrowsError(try makeRun(c).run()) { XCTAssertTrue("\($0)".contains("task"), "\($0)") }
    }
}

import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// Supervised fine-tuning of a tiny random Llama with the tiny byte-level BPE tokenizer through
/// `TrainingRun`, as `fttrain train` runs it: chat rows, the loss on assistant turns only; full
/// fine-tuning and LoRA; the loss falls, the exported model and adapter load back, and a stopped
/// run resumes bit for bit.
final class CausalLMTrainingTests: XCTestCase {
    var directory: URL!
    var savedThreads = 1

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("causal-lm-training-\(UUID().uuidString)")
        try TinyLlamaDirectory.write(to: directory.appendingPathComponent("model"))
        var lines: [String] = []
        for i in 0..<40 {
            let answer = i % 2 == 0 ? "even" : "odd"
            lines.append(
                #"{"messages": [{"role": "user", "content": "Is \#(i) even or odd?"}, {"role": "assistant", "content": "\#(answer)"}]}"#)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDownWithError() throws {
        Parallel.threadCount = savedThreads
        try? FileManager.default.removeItem(at: directory)
    }

    func configuration(_ name: String, _ adjust: (inout TrainingConfiguration) -> Void = { _ in }) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.outputDir = directory.appendingPathComponent(name).path
        c.modelDir = directory.appendingPathComponent("model").path
        c.trainFile = directory.appendingPathComponent("train.jsonl").path
        c.maxSteps = 24
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 3e-3
        c.loggingSteps = 1
        c.saveSteps = 8
        c.maxLength = 64
        c.splitRatios = [0.8, 0.2, 0]
        c.predictWithGenerate = true
        c.generationMaxNewTokens = 3
        adjust(&c)
        return c
    }

    func losses(_ c: TrainingConfiguration) throws -> [Double] {
        try logRecords(URL(fileURLWithPath: c.outputDir!)).train.map { $0[1] }
    }

    func testFullFineTuningLearnsTheAnswersAndExportsAModel() throws {
        let c = configuration("full")
        let metrics = try TrainingRun(configuration: c).run()
        let l = try losses(c)
        XCTAssertEqual(l.count, 24)
        XCTAssertLessThan(l.suffix(4).reduce(0, +), l.prefix(4).reduce(0, +) * 0.5, "the loss falls: \(l)")
        let evalLoss = try XCTUnwrap(metrics["eval_loss"])
        XCTAssertEqual(try XCTUnwrap(metrics["eval_perplexity"]), exp(evalLoss), accuracy: 1e-9)
        XCTAssertEqual(metrics["eval_generated"], 8)
        XCTAssertGreaterThan(try XCTUnwrap(metrics["eval_tokens"]), 8)
        // The exported model loads back and scores the validation split as the run did.
        let output = URL(fileURLWithPath: c.outputDir!)
        let loaded = try CausalModelLoading.load(path: output.appendingPathComponent("model").path)
        let run = TrainingRun(configuration: c)
        let task = try CausalLanguageModelingTask(
            trainPath: c.trainFile!, options: run.causalOptions(maxSequenceLength: 128), tokenizer: loaded.tokenizer,
            vocabularySize: loaded.model.vocabularySize)
        let reloaded = try CausalLMEvaluation.loss(
            model: loaded.model, dataset: task.validation, batchSize: 8, padTokenId: loaded.tokenizer.padTokenId, world: SingleProcessWorld())
        XCTAssertEqual(reloaded.mean, evalLoss, accuracy: 1e-5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("generations.jsonl").path))
    }

    func testStoppedAndResumedRunIsBitwiseTheUninterruptedOne() throws {
        let whole = configuration("whole")
        try TrainingRun(configuration: whole).run()
        let split = configuration("split")
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(13).callAsFunction
        XCTAssertThrowsError(try first.run()) { XCTAssertTrue($0 is TrainingInterrupted, "\($0)") }
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()
        let a = try logRecords(URL(fileURLWithPath: whole.outputDir!)), b = try logRecords(URL(fileURLWithPath: split.outputDir!))
        XCTAssertEqual(a.train, b.train, "loss, grad_norm and learning_rate of every step")
        func weights(_ c: TrainingConfiguration) throws -> Data {
            try Data(contentsOf: URL(fileURLWithPath: c.outputDir!).appendingPathComponent("model/model.safetensors"))
        }
        XCTAssertEqual(try weights(whole), try weights(split), "final parameters")
    }

    func testLoRATrainsAndItsAdapterLoadsBack() throws {
        let c = configuration("lora") {
            $0.peft = .lora
            $0.loraR = 4
            $0.loraAlpha = 8
            $0.loraTargetModules = ["q_proj", "v_proj", "up_proj"]
            $0.learningRate = 2e-2
        }
        let metrics = try TrainingRun(configuration: c).run()
        let l = try losses(c)
        XCTAssertLessThan(l.suffix(4).reduce(0, +), l.prefix(4).reduce(0, +) * 0.7, "the loss falls: \(l)")
        let adapter = URL(fileURLWithPath: c.outputDir!).appendingPathComponent("adapter")
        let adapterConfig =
            try JSONSerialization.jsonObject(with: Data(contentsOf: adapter.appendingPathComponent("adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(adapterConfig?["task_type"] as? String, "CAUSAL_LM")
        let loaded = try CausalModelLoading.load(path: c.modelDir!, adapter: adapter)
        let task = try CausalLanguageModelingTask(
            trainPath: c.trainFile!, options: TrainingRun(configuration: c).causalOptions(maxSequenceLength: 128),
            tokenizer: loaded.tokenizer, vocabularySize: loaded.model.vocabularySize)
        let reloaded = try CausalLMEvaluation.loss(
            model: loaded.model, dataset: task.validation, batchSize: 8, padTokenId: loaded.tokenizer.padTokenId, world: SingleProcessWorld())
        XCTAssertEqual(reloaded.mean, try XCTUnwrap(metrics["eval_loss"]), accuracy: 1e-5)
    }
}

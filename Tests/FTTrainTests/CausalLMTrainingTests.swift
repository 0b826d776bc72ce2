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
        let task = try CausalLanguageModelingTask(
            trainPath: c.trainFile!, options: CausalLanguageModelingTask.Options(configuration: c, maxSequenceLength: 128), tokenizer: loaded.tokenizer,
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
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: adapter.appendingPathComponent(PEFTTraining.labelsFile).path),
            "a causal LM has no classes: its adapter is PEFT's files only")
        let loaded = try CausalModelLoading.load(path: c.modelDir!, adapter: adapter)
        let task = try CausalLanguageModelingTask(
            trainPath: c.trainFile!, options: CausalLanguageModelingTask.Options(configuration: c, maxSequenceLength: 128),
            tokenizer: loaded.tokenizer, vocabularySize: loaded.model.vocabularySize)
        let reloaded = try CausalLMEvaluation.loss(
            model: loaded.model, dataset: task.validation, batchSize: 8, padTokenId: loaded.tokenizer.padTokenId, world: SingleProcessWorld())
        XCTAssertEqual(reloaded.mean, try XCTUnwrap(metrics["eval_loss"]), accuracy: 1e-5)
    }

    /// LoRA, 2 ranks × batch 4 against 1 process × batch 8: the same rows each step, answers of
    /// 1 to 5 words so the ranks' target counts differ (each rank weighs its tokens by the global
    /// count, as HF's `average_tokens_across_devices`); losses and gradient norms within 1e-5
    /// relative, the final adapters within float32 summation order.
    func testLoRAOnTwoRanksTrainsLikeOneProcess() throws {
        var lines: [String] = []
        for i in 0..<32 {
            let answer = Array(repeating: i % 3 == 0 ? "yes" : "no", count: i % 5 + 1).joined(separator: " ")
            lines.append(
                #"{"messages": [{"role": "user", "content": "Row \#(i): say it"}, {"role": "assistant", "content": "\#(answer)"}]}"#)
        }
        let data = directory.appendingPathComponent("varied.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        func settings(_ name: String, batch: Int) -> TrainingConfiguration {
            configuration(name) {
                $0.trainFile = data.path
                $0.splitRatios = [1, 0, 0]
                $0.perDeviceTrainBatchSize = batch
                $0.maxSteps = 6
                $0.saveStrategy = .no
                $0.predictWithGenerate = false
                $0.peft = .lora
                $0.loraR = 4
                $0.loraAlpha = 8
                $0.loraDropout = 0
                $0.loraTargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
                $0.learningRate = 1e-2
            }
        }
        let one = settings("one", batch: 8), two = settings("two", batch: 4)
        try TrainingRun(configuration: one).run()
        _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: two, world: world).run() }
        let a = try logRecords(URL(fileURLWithPath: one.outputDir!)).train, b = try logRecords(URL(fileURLWithPath: two.outputDir!)).train
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            for k in 1...3 { XCTAssertEqual(y[k], x[k], accuracy: 1e-5 * max(abs(x[k]), 1e-3), "step \(x[0]) column \(k)") }
        }
        XCTAssertLessThan(a.last![1], a.first![1], "the loss falls")
        let adapterA = try PEFTAdapter.read(directory: URL(fileURLWithPath: one.outputDir!).appendingPathComponent("adapter"))
        let adapterB = try PEFTAdapter.read(directory: URL(fileURLWithPath: two.outputDir!).appendingPathComponent("adapter"))
        XCTAssertEqual(adapterA.tensors.map(\.name), adapterB.tensors.map(\.name))
        XCTAssertEqual(adapterA.tensors.count, 2 * 2 * 7, "A and B of the 7 projections in 2 layers")
        for (x, y) in zip(adapterA.tensors, adapterB.tensors) {
            for (u, v) in zip(x.values, y.values) {
                XCTAssertEqual(v, u, accuracy: 1e-4 * abs(u) + 5e-6, x.name)
            }
        }
    }
}

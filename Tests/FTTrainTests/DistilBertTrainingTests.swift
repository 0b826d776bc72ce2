import FTCore
import FTModel
import FTTrain
import Foundation
import XCTest

/// The second family through the whole trainer, with no code of its own outside its family file:
/// full fine-tuning and LoRA on `q_lin`/`v_lin` resume bit for bit, and two ranks train like one
/// process at the same global batch.
final class DistilBertTrainingTests: XCTestCase {
    var fixture: CheckpointFixture!
    var savedThreads = 1

    override func setUpWithError() throws {
        fixture = try CheckpointFixture(family: .distilBERT)
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDown() {
        Parallel.threadCount = savedThreads
        fixture.remove()
    }

    /// Stops at step `stop` (mid-epoch), resumes from the latest checkpoint, and compares with the
    /// uninterrupted run: every logged loss, gradient norm, learning rate and evaluation, and the
    /// exported model's bytes.
    func assertResumesBitwise(_ name: String, _ change: @escaping (inout TrainingConfiguration) -> Void) throws {
        let whole = try fixture.configuration(name + "-whole", change)
        try TrainingRun(configuration: whole).run()
        let split = try fixture.configuration(name + "-split", change)
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(13).callAsFunction
        XCTAssertThrowsError(try first.run())
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()
        let a = try logRecords(fixture.output(name + "-whole")), b = try logRecords(fixture.output(name + "-split"))
        XCTAssertEqual(a.train.count, 22)
        XCTAssertEqual(a.train, b.train, "loss, grad_norm and learning_rate of every step")
        XCTAssertEqual(a.eval, b.eval, "every evaluation")
        XCTAssertEqual(try finalModelBytes(fixture.output(name + "-whole")), try finalModelBytes(fixture.output(name + "-split")))
        XCTAssertLessThan(a.train.last![1], a.train.first![1], "the loss falls")
    }

    func testFullFineTuningResumesBitwise() throws {
        try assertResumesBitwise("full") { _ in }
        // The export is a DistilBertForSequenceClassification directory that loads back with its head.
        let exported = fixture.output("full-whole").appendingPathComponent("model")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: exported.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(config["architectures"] as? [String], ["DistilBertForSequenceClassification"])
        XCTAssertEqual(config["model_type"] as? String, "distilbert")
        let file = try SafeTensorsFile(path: exported.appendingPathComponent("model.safetensors").path)
        XCTAssertNotNil(file.info("distilbert.transformer.layer.1.attention.q_lin.weight"))
        XCTAssertNotNil(file.info("pre_classifier.weight"))
        let model = try EncoderModel.load(modelDirectory: exported, numLabels: 3)
        XCTAssertEqual(model.family, .distilBERT)
    }

    func testLoRAOnQLinVLinResumesBitwise() throws {
        try assertResumesBitwise("lora") {
            $0.peft = .lora
            $0.loraR = 2
            $0.loraTargetModules = ["q_lin", "v_lin"]
            $0.learningRate = 1e-3
        }
        let adapter = try PEFTAdapter.read(directory: fixture.output("lora-whole").appendingPathComponent("adapter"))
        let names = Set(adapter.tensors.map(\.name))
        XCTAssertTrue(names.contains("transformer.layer.0.attention.q_lin.lora_A.weight"))
        XCTAssertTrue(names.contains("transformer.layer.1.attention.v_lin.lora_B.weight"))
        XCTAssertTrue(
            names.contains("classifier.weight") && names.contains("pre_classifier.weight"),
            "PEFT's modules_to_save suffix match saves pre_classifier with the classifier")
        XCTAssertFalse(names.contains { $0.contains("k_lin") })
    }

    /// 2 ranks × batch 2 against 1 process × batch 4: the same examples each step, so losses and
    /// gradient norms agree within float32 summation order (dropout off: its masks are per rank).
    func testTwoRanksTrainLikeOneProcess() throws {
        func settings(_ name: String, batch: Int) throws -> TrainingConfiguration {
            try fixture.configuration(name) {
                $0.perDeviceTrainBatchSize = batch
                $0.gradientAccumulationSteps = 1
                $0.hiddenDropoutProb = 0
                $0.attentionProbsDropoutProb = 0
                $0.classifierDropout = 0
                $0.saveStrategy = .no
            }
        }
        try TrainingRun(configuration: try settings("one", batch: 4)).run()
        let two = try settings("two", batch: 2)
        _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: two, world: world).run() }
        let a = try logRecords(fixture.output("one")).train, b = try logRecords(fixture.output("two")).train
        XCTAssertEqual(a.count, 22)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            for k in 1...3 { XCTAssertEqual(y[k], x[k], accuracy: 1e-5 * max(abs(x[k]), 1e-3), "step \(x[0]) column \(k)") }
        }
    }
}

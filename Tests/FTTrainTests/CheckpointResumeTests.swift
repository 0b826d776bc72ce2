import FTCore
import FTTrain
import Foundation
import XCTest

/// Checkpoints and `--resume-from`: a run stopped mid-epoch and resumed continues bit for bit as
/// the uninterrupted run (losses, gradient norms, learning rates, evaluations, final parameters),
/// on one rank and on two; on fewer ranks it keeps the global batch and matches within a float
/// tolerance.
final class CheckpointResumeTests: XCTestCase {
    var fixture: CheckpointFixture!
    var savedThreads = 1

    override func setUpWithError() throws {
        fixture = try CheckpointFixture()
        // One thread per rank: the threads of the in-process worlds are the ranks.
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDown() {
        Parallel.threadCount = savedThreads
        fixture.remove()
    }

    /// 72 training examples, 4 × 2 per step: 9 steps per epoch, so step 13 is mid-epoch 2.
    func testStoppedAndResumedRunIsBitwiseTheUninterruptedOne() throws {
        let whole = try fixture.configuration("whole")
        try TrainingRun(configuration: whole).run()

        let split = try fixture.configuration("split")
        let first = TrainingRun(configuration: split)
        let stop = StopAtStep(13)
        first.stopRequested = stop.callAsFunction
        XCTAssertThrowsError(try first.run()) { error in
            guard let interrupted = error as? TrainingInterrupted else { return XCTFail("\(error)") }
            XCTAssertEqual(interrupted.step, 13)
            XCTAssertEqual(interrupted.signal, SIGTERM)
        }
        let output = fixture.output("split")
        XCTAssertEqual(CheckpointDirectory.list(in: output).map(\.step), [5, 10, 13])
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: output.appendingPathComponent("model").path),
            "an interrupted run exports no final model")
        let state = try JSONDecoder().decode(
            TrainerState.self, from: Data(contentsOf: output.appendingPathComponent("checkpoint-13/trainer_state.json")))
        XCTAssertEqual(state.globalStep, 13)
        XCTAssertEqual(state.cursor, TrainerState.DataCursor(epoch: 1, updateInEpoch: 4))

        var resume = split
        resume.resumeFromCheckpoint = "latest"
        let metrics = try TrainingRun(configuration: resume).run()
        XCTAssertEqual(metrics["train_steps"], 22)
        try assertSameRun(fixture.output("whole"), output)
    }

    /// A LoRA run checkpoints its adapter (PEFT's files, as Hugging Face's Trainer does) rather than
    /// the model, and resumes from it bit for bit: the same steps, adapter and merged model.
    func testLoRARunCheckpointsItsAdapterAndResumesBitwise() throws {
        func lora(_ c: inout TrainingConfiguration) {
            c.peft = .lora
            c.loraR = 2
            c.learningRate = 1e-3
        }
        try TrainingRun(configuration: try fixture.configuration("lora-whole", lora)).run()
        let split = try fixture.configuration("lora-split", lora)
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(13).callAsFunction
        XCTAssertThrowsError(try first.run())
        let checkpoint = fixture.output("lora-split").appendingPathComponent("checkpoint-13")
        for file in ["adapter_model.safetensors", "adapter_config.json", "optimizer.safetensors", "trainer_state.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(file).path), file)
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("model.safetensors").path),
            "the frozen base weights are not copied into every checkpoint")
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()
        try assertSameRun(fixture.output("lora-whole"), fixture.output("lora-split"))
        XCTAssertEqual(
            try Data(contentsOf: fixture.output("lora-whole").appendingPathComponent("adapter/adapter_model.safetensors")),
            try Data(contentsOf: fixture.output("lora-split").appendingPathComponent("adapter/adapter_model.safetensors")))
    }

    /// Two ranks (threads): rank 1 alone is asked to stop; both stop at the same step, every rank
    /// writes its state, and the resumed two-rank run equals the uninterrupted one bit for bit.
    func testTwoRankResumeIsBitwiseAndEveryRankSavesItsState() throws {
        let whole = try fixture.configuration("whole2") { $0.perDeviceTrainBatchSize = 2 }
        _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: whole, world: world).run() }

        let split = try fixture.configuration("split2") { $0.perDeviceTrainBatchSize = 2 }
        let outcomes = try InProcessWorlds.run(size: 2) { world -> String in
            let run = TrainingRun(configuration: split, world: world)
            if world.rank == 1 { run.stopRequested = StopAtStep(7).callAsFunction } else { run.stopRequested = { nil } }
            do {
                try run.run()
                return "finished"
            } catch let interrupted as TrainingInterrupted { return "stopped at \(interrupted.step)" }
        }
        XCTAssertEqual(outcomes, ["stopped at 7", "stopped at 7"])
        let checkpoint = fixture.output("split2").appendingPathComponent("checkpoint-7")
        try CheckpointDirectory.verify(checkpoint)
        let ranks = try (0..<2).map { rank in
            try JSONDecoder().decode(RankState.self, from: Data(contentsOf: checkpoint.appendingPathComponent("rng_state_\(rank).json")))
        }
        XCTAssertEqual(ranks.map(\.rank), [0, 1])
        XCTAssertNotEqual(ranks[0].dropoutGenerator, ranks[1].dropoutGenerator, "each rank has its own dropout stream")

        let resume = resumed(split)
        _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: resume, world: world).run() }
        try assertSameRun(fixture.output("whole2"), fixture.output("split2"))
    }

    /// 4 ranks × 2 × 1 stopped at step 6, resumed on 2 ranks: accumulation 2 keeps the global batch
    /// of 8 (same examples per step). Summation order differs, so the match is within float
    /// tolerance: every loss and gradient norm within 1e-5 relative, parameters within 1e-5.
    /// Dropout is off: its masks are drawn per rank.
    func testResumeOnFewerRanksKeepsTheGlobalBatch() throws {
        func settings(_ name: String) throws -> TrainingConfiguration {
            try fixture.configuration(name) {
                $0.perDeviceTrainBatchSize = 2
                $0.gradientAccumulationSteps = 1
                $0.hiddenDropoutProb = 0
                $0.attentionProbsDropoutProb = 0
                $0.classifierDropout = 0
            }
        }
        let whole = try settings("whole4")
        _ = try InProcessWorlds.run(size: 4) { world in try TrainingRun(configuration: whole, world: world).run() }
        let split = try settings("split4")
        _ = try InProcessWorlds.run(size: 4) { world -> Bool in
            let run = TrainingRun(configuration: split, world: world)
            run.stopRequested = StopAtStep(6).callAsFunction
            XCTAssertThrowsError(try run.run())
            return true
        }
        let resume = resumed(split)
        _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: resume, world: world).run() }

        let expected = try logRecords(fixture.output("whole4")), actual = try logRecords(fixture.output("split4"))
        XCTAssertEqual(expected.train.count, 22)
        XCTAssertEqual(actual.train.count, 22)
        for (e, a) in zip(expected.train, actual.train) {
            XCTAssertEqual(e[0], a[0])
            XCTAssertEqual(e[3], a[3], "learning rate of step \(e[0])")
            for k in 1...2 { XCTAssertEqual(a[k], e[k], accuracy: 1e-5 * abs(e[k]) + 1e-7, "step \(e[0]) field \(k)") }
        }
        let lossError = zip(expected.train, actual.train).map { abs($0[1] - $1[1]) / abs($0[1]) }.max() ?? 0
        let p = try parameters(fixture.output("whole4")), q = try parameters(fixture.output("split4"))
        XCTAssertEqual(p.count, q.count)
        let worst = zip(p, q).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-5, "largest parameter difference")
        print("resume 4 -> 2 ranks: max relative loss difference \(lossError), max |Δparameter| \(worst)")
        XCTAssertGreaterThan(p.count, 1000)
    }

    /// A damaged newest checkpoint is reported and skipped: the run continues from the one
    /// before and still ends exactly as the uninterrupted run.
    func testResumeFallsBackPastADamagedCheckpointAndStaysExact() throws {
        let whole = try fixture.configuration("whole")
        try TrainingRun(configuration: whole).run()
        let split = try fixture.configuration("split")
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(12).callAsFunction
        XCTAssertThrowsError(try first.run())
        // Cut the newest checkpoint's optimizer state in half.
        let optimizer = fixture.output("split").appendingPathComponent("checkpoint-12/optimizer.safetensors")
        let bytes = try Data(contentsOf: optimizer)
        try bytes.prefix(bytes.count / 2).write(to: optimizer)

        var notes: [String] = []
        let chosen = try CheckpointDirectory.resolve("latest", output: fixture.output("split")) { notes.append($0) }
        XCTAssertEqual(chosen.lastPathComponent, "checkpoint-10")
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(
            notes[0].contains("checkpoint-12") && notes[0].contains("optimizer.safetensors") && notes[0].contains("checkpoint-10"), notes[0])

        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()
        try assertSameRun(fixture.output("whole"), fixture.output("split"))
        // The damaged one stays (a resume removes nothing); the newer ones are complete.
        XCTAssertEqual(CheckpointDirectory.list(in: fixture.output("split")).map(\.step), [5, 10, 12, 15, 20, 22])
        try CheckpointDirectory.verify(fixture.output("split").appendingPathComponent("checkpoint-22"))
    }

    /// Epoch checkpoints with epoch evaluations: the run stopped at step 11 loses that checkpoint,
    /// resumes from the end of epoch 1 (`checkpoint-9`, cursor at the start of epoch 2) and still
    /// ends exactly as the uninterrupted run.
    func testResumeFromAnEpochCheckpoint() throws {
        func settings(_ name: String) throws -> TrainingConfiguration {
            try fixture.configuration(name) {
                $0.saveStrategy = .epoch
                $0.evalStrategy = .epoch
            }
        }
        try TrainingRun(configuration: settings("whole")).run()
        let split = try settings("split")
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(11).callAsFunction
        XCTAssertThrowsError(try first.run())
        let output = fixture.output("split")
        XCTAssertEqual(CheckpointDirectory.list(in: output).map(\.step), [9, 11])
        try FileManager.default.removeItem(at: output.appendingPathComponent("checkpoint-11/DONE"))
        let state = try JSONDecoder().decode(
            TrainerState.self, from: Data(contentsOf: output.appendingPathComponent("checkpoint-9/trainer_state.json")))
        XCTAssertEqual(state.cursor, TrainerState.DataCursor(epoch: 1, updateInEpoch: 0))
        try TrainingRun(configuration: resumed(split)).run()
        let a = try logRecords(fixture.output("whole")), b = try logRecords(output)
        XCTAssertEqual(a.train.count, 22)
        XCTAssertEqual(a.train, b.train)
        // Epochs 1 and 2 end at steps 9 and 18; max_steps ends epoch 3 at 22, which is evaluated too, as HF's Trainer does.
        XCTAssertEqual(a.eval.map { $0[0] }, [9, 18, 22])
        XCTAssertEqual(CheckpointDirectory.list(in: fixture.output("whole")).map(\.step), [9, 18, 22])
        XCTAssertEqual(a.eval, b.eval)
        XCTAssertEqual(try finalModelBytes(fixture.output("whole")), try finalModelBytes(output))
    }

    // MARK: - Helpers

    func resumed(_ c: TrainingConfiguration) -> TrainingConfiguration {
        var c = c
        c.resumeFromCheckpoint = "latest"
        return c
    }

    func assertSameRun(_ expected: URL, _ actual: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try logRecords(expected), b = try logRecords(actual)
        XCTAssertEqual(a.train.count, 22, file: file, line: line)
        XCTAssertEqual(a.train, b.train, "loss, grad_norm and learning_rate of every step", file: file, line: line)
        XCTAssertEqual(a.eval.count, 4, file: file, line: line)
        XCTAssertEqual(a.eval, b.eval, "every evaluation", file: file, line: line)
        XCTAssertEqual(try finalModelBytes(expected), try finalModelBytes(actual), "final parameters", file: file, line: line)
        let m1 = try metrics(expected), m2 = try metrics(actual)
        for (key, value) in m1 where key != "train_runtime" {
            XCTAssertEqual(m2[key], value, key, file: file, line: line)
        }
    }

    func metrics(_ output: URL) throws -> [String: Double] {
        try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: output.appendingPathComponent("metrics.json")))
    }

    func parameters(_ output: URL) throws -> [Float] {
        let file = try SafeTensorsFile(path: output.appendingPathComponent("model/model.safetensors").path)
        return try file.tensors.sorted { $0.name < $1.name }.flatMap { try file.floats($0.name) }
    }
}

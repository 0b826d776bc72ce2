import FTCore
import FTTrain
import Foundation
import XCTest

/// Every way a checkpoint can be incomplete or damaged is caught by `verify`, named in the
/// message, and skipped by `--resume-from latest`; rotation never removes the best checkpoint.
final class CheckpointIntegrityTests: XCTestCase {
    var fixture: CheckpointFixture!
    var output: URL!

    override func setUpWithError() throws {
        fixture = try CheckpointFixture()
    }

    override func tearDown() { fixture.remove() }

    /// One run with checkpoints at 5, 10, 15, 20, 22; returns the output directory. A staging
    /// directory left by an interrupted write is there before, and gone after.
    func trainWithCheckpoints() throws -> URL {
        let c = try fixture.configuration("run") { $0.evalStrategy = .no }
        let leftover = fixture.output("run").appendingPathComponent(".checkpoint-3.partial")
        try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
        try TrainingRun(configuration: c).run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover.path), "stale staging directory removed")
        let output = fixture.output("run")
        XCTAssertEqual(CheckpointDirectory.list(in: output).map(\.step), [5, 10, 15, 20, 22])
        return output
    }

    func testEveryDamageIsNamedAndLatestFallsBack() throws {
        let output = try trainWithCheckpoints()
        func checkpoint(_ step: Int) -> URL { output.appendingPathComponent("checkpoint-\(step)") }
        for step in [5, 10, 15, 20, 22] { try CheckpointDirectory.verify(checkpoint(step)) }
        let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint(22).path).sorted()
        for expected in [
            "DONE", "SHA256SUMS", "config.json", "log_history.jsonl", "model.safetensors", "optimizer.safetensors",
            "rng_state_0.json", "scheduler.json", "trainer_state.json", "vocab.txt",
        ] {
            XCTAssertTrue(files.contains(expected), "checkpoint lacks \(expected): \(files)")
        }
        XCTAssertFalse(
            try FileManager.default.contentsOfDirectory(atPath: output.path).contains { $0.hasPrefix(".checkpoint") },
            "no staging directory is left behind")
        // The manifest is the standard tool's format and sums.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        check.arguments = ["--check", "--quiet", "SHA256SUMS"]
        check.currentDirectoryURL = checkpoint(22)
        try check.run()
        check.waitUntilExit()
        XCTAssertEqual(check.terminationStatus, 0, "sha256sum --check SHA256SUMS")

        // Truncated file.
        let model = checkpoint(22).appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: model)
        try bytes.prefix(bytes.count - 100).write(to: model)
        assertDamaged(checkpoint(22), mentioning: ["model.safetensors", "sha256"])
        // Wrong sum: same size, one byte changed.
        let state = checkpoint(20).appendingPathComponent("trainer_state.json")
        var text = try Data(contentsOf: state)
        text[text.count / 2] ^= 0x01
        try text.write(to: state)
        assertDamaged(checkpoint(20), mentioning: ["trainer_state.json", "sha256"])
        // Missing marker (an interrupted write).
        try FileManager.default.removeItem(at: checkpoint(15).appendingPathComponent("DONE"))
        assertDamaged(checkpoint(15), mentioning: ["DONE", "interrupted"])
        // A listed file missing.
        try FileManager.default.removeItem(at: checkpoint(10).appendingPathComponent("rng_state_0.json"))
        assertDamaged(checkpoint(10), mentioning: ["rng_state_0.json", "missing"])

        var notes: [String] = []
        let chosen = try CheckpointDirectory.resolve("latest", output: output) { notes.append($0) }
        XCTAssertEqual(chosen.lastPathComponent, "checkpoint-5")
        XCTAssertEqual(notes.count, 4, notes.joined(separator: "\n"))
        XCTAssertTrue(notes[0].contains("checkpoint-22") && notes[0].contains("falling back to checkpoint-20"), notes[0])

        // Without a manifest, and an explicit directory that is damaged: errors, no fallback.
        try FileManager.default.removeItem(at: checkpoint(5).appendingPathComponent("SHA256SUMS"))
        assertDamaged(checkpoint(5), mentioning: ["SHA256SUMS"])
        XCTAssertThrowsError(try CheckpointDirectory.resolve("latest", output: output) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("none of the 5 checkpoints"), "\(error)")
        }
        XCTAssertThrowsError(try CheckpointDirectory.resolve(checkpoint(22).path, output: output) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("model.safetensors"), "\(error)")
        }
        // And the run refuses to start from nothing, naming the directory.
        var c = try fixture.configuration("run") { $0.evalStrategy = .no }
        c.resumeFromCheckpoint = "latest"
        XCTAssertThrowsError(try TrainingRun(configuration: c).run()) { error in
            XCTAssertTrue("\(error)".contains("none of the 5 checkpoints") && "\(error)".contains(output.path), "\(error)")
        }
    }

    func testEmptyOutputDirectoryHasNothingToResume() throws {
        var c = try fixture.configuration("fresh")
        c.resumeFromCheckpoint = "latest"
        XCTAssertThrowsError(try TrainingRun(configuration: c).run()) { error in
            XCTAssertTrue("\(error)".contains("no checkpoint-* directory"), "\(error)")
        }
    }

    /// A checkpoint of another seed cannot continue this run.
    func testIncompatibleCheckpointIsRefused() throws {
        _ = try trainWithCheckpoints()
        var c = try fixture.configuration("run") {
            $0.evalStrategy = .no
            $0.seed = 4
        }
        c.resumeFromCheckpoint = "latest"
        XCTAssertThrowsError(try TrainingRun(configuration: c).run()) { error in
            XCTAssertTrue("\(error)".contains("seed 3") && "\(error)".contains("seed 4"), "\(error)")
        }
    }

    /// `save_total_limit` 2 with the best model early (the metric is the eval loss and larger
    /// counts as better, so the first evaluation stays best): the best survives every rotation,
    /// and `load_best_model_at_end` exports exactly its parameters.
    func testRotationKeepsTheBest() throws {
        let c = try fixture.configuration("rotate") {
            $0.saveTotalLimit = 2
            $0.loadBestModelAtEnd = true
            $0.metricForBestModel = "loss"
            $0.greaterIsBetter = true
        }
        try TrainingRun(configuration: c).run()
        let output = fixture.output("rotate")
        let state = try JSONDecoder().decode(
            TrainerState.self,
            from: Data(contentsOf: output.appendingPathComponent("checkpoint-22/trainer_state.json")))
        let best = try XCTUnwrap(state.bestModelCheckpoint)
        XCTAssertNotEqual(best, "checkpoint-22", "the test needs a best older than the newest checkpoint")
        XCTAssertEqual(CheckpointDirectory.list(in: output).map(\.url.lastPathComponent), [best, "checkpoint-22"])
        XCTAssertEqual(
            try Data(contentsOf: output.appendingPathComponent("model/model.safetensors")),
            try Data(contentsOf: output.appendingPathComponent(best).appendingPathComponent("model.safetensors")),
            "the exported model is the best checkpoint's")
        let evalLosses = try logRecords(output).eval.map { $0[1] }
        XCTAssertEqual(state.bestMetric ?? .nan, evalLosses.max() ?? 0, accuracy: 1e-12)
    }

    /// The rule alone, on directories: limit 1 with an older best keeps two (as Hugging Face).
    func testRotateRule() throws {
        let root = fixture.directory.appendingPathComponent("rule")
        for step in [3, 6, 9, 12] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("checkpoint-\(step)"), withIntermediateDirectories: true)
        }
        let removed = try CheckpointWriter.rotate(in: root, limit: 1, keeping: ["checkpoint-12", "checkpoint-6"])
        XCTAssertEqual(removed.map(\.lastPathComponent), ["checkpoint-3", "checkpoint-9"])
        XCTAssertEqual(CheckpointDirectory.list(in: root).map(\.step), [6, 12])
        XCTAssertEqual(try CheckpointWriter.rotate(in: root, limit: nil, keeping: []), [])
    }

    /// Best model evaluated between checkpoints: it travels in `best_model.safetensors`, and a
    /// resumed run restores it at the end exactly as the uninterrupted run does.
    func testBestModelBetweenCheckpointsSurvivesResume() throws {
        func settings(_ name: String) throws -> TrainingConfiguration {
            try fixture.configuration(name) {
                $0.saveSteps = 10
                $0.loadBestModelAtEnd = true
                $0.metricForBestModel = "loss"
                $0.greaterIsBetter = true
            }
        }
        try TrainingRun(configuration: settings("whole")).run()
        let split = try settings("split")
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(12).callAsFunction
        XCTAssertThrowsError(try first.run())
        let checkpoint = fixture.output("split").appendingPathComponent("checkpoint-12")
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: checkpoint.appendingPathComponent("trainer_state.json")))
        XCTAssertEqual(state.bestGlobalStep, 5)
        XCTAssertNil(state.bestModelCheckpoint, "step 5 has no checkpoint")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("best_model.safetensors").path))
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()
        XCTAssertEqual(try finalModelBytes(fixture.output("whole")), try finalModelBytes(fixture.output("split")))
    }

    func assertDamaged(_ directory: URL, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CheckpointDirectory.verify(directory), file: file, line: line) { error in
            let message = "\(error)"
            for word in words + [directory.lastPathComponent] {
                XCTAssertTrue(message.contains(word), "\"\(word)\" not in: \(message)", file: file, line: line)
            }
        }
    }
}

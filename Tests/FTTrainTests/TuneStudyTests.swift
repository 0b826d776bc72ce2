@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// `fttrain tune`'s study: resume after an interruption, and a whole tiny study in process.
final class TuneStudyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-tune-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func syntheticRecord(_ a: TrialAssignment) -> TrialRecord {
        var r = TrialRecord(number: a.number, state: .complete, parameters: a.parameters)
        r.value = -abs(log10(a.parameters["learning_rate"]!.numeric!) + 4)
        r.seconds = 1
        return r
    }

    /// A study killed while trial 2 runs: the rerun hands out trial 2 again with the same values,
    /// never trials 0 and 1, and ends with what an uninterrupted study ends with.
    func testResumeRepeatsNoEndedTrialAndDrawsTheSameValues() throws {
        var space = try SearchSpace.parse(yaml: "learning_rate: {loguniform: [1e-5, 1e-2]}\nlora_r: {int: [2, 16]}")
        space.startupTrials = 2  // TPE decides trials 2 to 5
        space.pruner = .none
        let whole = directory.appendingPathComponent("whole"), parts = directory.appendingPathComponent("parts")

        let uninterrupted = try Study(space: space, directory: whole, trials: 6)
        while let a = uninterrupted.claim() { try uninterrupted.finish(syntheticRecord(a)) }

        var first: Study? = try Study(space: space, directory: parts, trials: 6)
        for _ in 0..<2 { try first!.finish(syntheticRecord(first!.claim()!)) }
        let killed = first!.claim()!
        XCTAssertEqual(killed.number, 2)
        first = nil  // killed: trial 2 never ended

        let second = try Study(space: space, directory: parts, trials: 6)
        XCTAssertEqual(second.records.map(\.number), [0, 1])
        var ran: [Int] = []
        while let a = second.claim() {
            ran.append(a.number)
            if a.number == 2 { XCTAssertEqual(a, killed, "the interrupted trial is drawn again as it was") }
            try second.finish(syntheticRecord(a))
        }
        XCTAssertEqual(ran, [2, 3, 4, 5], "no ended trial runs again")
        XCTAssertTrue(second.isFinished)
        XCTAssertEqual(try TrialRecord.readStudy(second.studyFile), uninterrupted.records)
        XCTAssertNil(try Study(space: space, directory: parts, trials: 6).claim(), "a finished study has nothing left to run")
        let lines = try String(contentsOf: second.studyFile, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 6, "one line per ended trial")
    }

    /// A study records the SHA-256 of its space and base configuration files: a resume from the
    /// same contents (under another path too) goes on; one whose space or base configuration
    /// changed is refused before any trial, the message naming the new file and the study's own.
    func testResumeWithAChangedSpaceOrBaseConfigurationIsRefused() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func file(_ name: String, _ text: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let spaceText = "learning_rate: {loguniform: [1e-5, 1e-2]}\npruner: none\n"
        let spacePath = try file("space.yaml", spaceText), configPath = try file("base.yaml", "learning_rate: 1.0e-4\n")
        let space = try SearchSpace.parse(yaml: spaceText)
        let study = directory.appendingPathComponent("study")

        let first = try Study(space: space, directory: study, trials: 3, inputs: StudyInputs(spacePath: spacePath, configPath: configPath))
        try first.finish(syntheticRecord(first.claim()!))
        XCTAssertTrue(FileManager.default.fileExists(atPath: StudyInputs.file(in: study).path))

        let copy = try file("copy.yaml", spaceText)
        let resumed = try Study(space: space, directory: study, trials: 3, inputs: StudyInputs(spacePath: copy, configPath: configPath))
        XCTAssertEqual(resumed.records.map(\.number), [0], "the same contents resume")

        let changed = try file("space2.yaml", "learning_rate: {loguniform: [1e-6, 1e-2]}\npruner: none\n")
        XCTAssertThrowsError(try Study(space: space, directory: study, trials: 3, inputs: StudyInputs(spacePath: changed, configPath: configPath))) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("--space \(changed)"), text)
            XCTAssertTrue(text.contains("differs from the search space this study was started from, \(spacePath)"), text)
            XCTAssertFalse(text.contains("--config"), text)
        }

        try "learning_rate: 2.0e-4\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Study(space: space, directory: study, trials: 3, inputs: StudyInputs(spacePath: changed, configPath: configPath))) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("2 problems"), text)
            XCTAssertTrue(text.contains("--config \(configPath)"), text)
            XCTAssertTrue(text.contains("differs from the base configuration this study was started from, \(configPath)"), text)
        }
        XCTAssertEqual(try TrialRecord.readStudy(first.studyFile).map(\.number), [0], "a refused resume writes nothing")
    }

    /// The decision log names every ASHA decision at a rung, in order, with the value compared
    /// (what scripts/mpi_tune_check.sh replays), and says nothing between rungs.
    func testDecisionLogNamesEveryRungDecision() throws {
        let space = try SearchSpace.parse(
            yaml: "metric: eval_loss\ndirection: minimize\nmin_resource: 1\nreduction_factor: 2\nlearning_rate: {loguniform: [1e-5, 1e-2]}")
        let study = try Study(space: space, directory: directory, trials: 3)
        var lines: [String] = []
        study.decisionLog = { lines.append($0) }
        XCTAssertFalse(study.report(trial: 0, evaluation: 1, value: 0.5))
        XCTAssertTrue(study.report(trial: 1, evaluation: 1, value: 0.75), "worse than the only other value at rung 1")
        XCTAssertFalse(study.report(trial: 0, evaluation: 3, value: 0.25), "3 is no rung")
        XCTAssertFalse(study.report(trial: 0, evaluation: 2, value: 0.25))
        XCTAssertEqual(
            lines,
            [
                "asha: trial-0000 evaluation 1 value 0.5 -> continue", "asha: trial-0001 evaluation 1 value 0.75 -> stop",
                "asha: trial-0000 evaluation 2 value 0.25 -> continue",
            ])
    }

    /// Three trials of a tiny model in process, ASHA on: every trial a run directory with its
    /// config.yaml and trial.json, study.jsonl, study.md and a best.yaml that `train` reads.
    func testTinyStudyEndToEnd() throws {
        let words = ["good", "bad", "film", "plot", "fine", "dull"]
        try TinyModelDirectory.write(to: directory.appendingPathComponent("model"), words: words)
        var lines = ["label,text"]
        for i in 0..<48 { lines.append(i % 2 == 0 ? "pos,good film fine \(i % 5)" : "neg,bad plot dull \(i % 5)") }
        try (lines.joined(separator: "\n") + "\n").write(
            to: directory.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        var base = TrainingConfiguration()
        base.modelDir = directory.appendingPathComponent("model").path
        base.trainFile = directory.appendingPathComponent("train.csv").path
        base.outputDir = directory.appendingPathComponent("unused").path
        base.deduplicate = false
        base.maxSteps = 4
        base.evalStrategy = .steps
        base.evalSteps = 1
        base.loggingSteps = 1
        base.saveStrategy = .no
        let space = try SearchSpace.parse(
            yaml: """
                sampler: random
                metric: eval_f1_macro
                min_resource: 1
                reduction_factor: 2
                learning_rate: {loguniform: [1e-4, 1e-2]}
                per_device_train_batch_size: {choice: [4, 8]}
                """)
        try space.check(against: base)
        let studyDirectory = directory.appendingPathComponent("study")
        let study = try Study(space: space, directory: studyDirectory, trials: 3)
        let summary = try study.runInProcess(TrialRunner(base: base, space: space, directory: studyDirectory))

        let records = try TrialRecord.readStudy(study.studyFile)
        XCTAssertEqual(records.map(\.number), [0, 1, 2])
        XCTAssertEqual(records[0].state, .complete, "the first trial is alone at every rung, so ASHA never stops it")
        XCTAssertEqual(records[0].evaluations.count, 4, "an evaluation per step")
        XCTAssertEqual(Set(records[0].rungs.keys), [1, 2, 4], "rungs at 1, 2, 4 evaluations")
        for record in records {
            XCTAssertNotEqual(record.state, .failed, record.error ?? "")
            let trial = studyDirectory.appendingPathComponent(TrialRecord.directoryName(record.number))
            let config = try TrainingConfiguration.load(path: trial.appendingPathComponent("config.yaml").path)
            XCTAssertEqual(config.learningRate, record.parameters["learning_rate"]?.numeric, "config.yaml = base + the sampled values")
            XCTAssertEqual(Double(config.perDeviceTrainBatchSize), record.parameters["per_device_train_batch_size"]?.numeric)
            XCTAssertEqual(config.outputDir, trial.path)
            XCTAssertTrue(FileManager.default.fileExists(atPath: trial.appendingPathComponent("log.jsonl").path))
            let trialFile = try JSONSerialization.jsonObject(with: Data(contentsOf: trial.appendingPathComponent("trial.json"))) as? [String: Any]
            XCTAssertEqual(trialFile?["state"] as? String, record.state.rawValue)
            if record.state == .pruned {
                XCTAssertLessThanOrEqual(record.evaluations.count, 4)
                XCTAssertFalse(FileManager.default.fileExists(atPath: trial.appendingPathComponent("metrics.json").path))
            } else {
                XCTAssertNotNil(record.value)
                XCTAssertTrue(FileManager.default.fileExists(atPath: trial.appendingPathComponent("metrics.json").path))
            }
        }
        let best = try XCTUnwrap(study.best)
        XCTAssertTrue(summary.contains("Best: \(TrialRecord.directoryName(best.number))"), summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: studyDirectory.appendingPathComponent("study.md").path))
        let bestConfig = try TrainingConfiguration.resolve(
            configFile: studyDirectory.appendingPathComponent("best.yaml").path, overrides: [])
        XCTAssertEqual(bestConfig.learningRate, best.parameters["learning_rate"]?.numeric)
        XCTAssertEqual(bestConfig.outputDir, studyDirectory.appendingPathComponent("best").path)

        // Rerun on the same directory: nothing left to do, nothing run again.
        let again = try Study(space: space, directory: studyDirectory, trials: 3)
        XCTAssertNil(again.claim())
    }
}

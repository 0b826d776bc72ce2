import Foundation
import XCTest

@testable import FTTrain

/// What the encoder task tests share (`TokenClassificationTaskTests`, `QuestionAnsweringTaskTests`):
/// a fresh directory per test (the tiny model goes to `model/`, each run to its own
/// sub-directory), files written into it, errors as text, the training configuration every
/// task's runs start from, and the metrics a run writes.
class TaskTestCase: XCTestCase {
    var directory: URL!

    /// The start of the temporary directory's name (`fttrain-ner`, `fttrain-qa`).
    class var directoryPrefix: String { "fttrain-task" }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(Self.directoryPrefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Writes `text` to `directory/name`; returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The error `body` throws, as text ("no error" when it throws none).
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }

    /// `task` trained on `train` from `directory/model` into `directory/name`: no checkpoints, an
    /// evaluation per epoch, a log line per step (the tests set batch size, learning rate, epochs).
    func configuration(task: TaskType, _ name: String, train: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.task = task
        c.modelDir = directory.appendingPathComponent("model").path
        c.trainFile = train
        c.outputDir = directory.appendingPathComponent(name).path
        c.saveStrategy = .no
        c.evalStrategy = .epoch
        c.loggingSteps = 1
        return c
    }

    /// `directory/name/metrics.json`, the numbers of the run written there.
    func metrics(_ name: String) throws -> [String: Double] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name).appendingPathComponent("metrics.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}

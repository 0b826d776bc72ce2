import FTDist
import FTDistTraining
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// `fttrain tune`'s trial groups over FTDist's in-process communicators (the code MPI runs use):
/// 4 ranks in 2 groups of 2, each group training its trials data-parallel, rank 0 keeping the study
/// and answering the other group's leader.
final class TuneGroupsTests: XCTestCase {
    /// Messages of every rank, in arrival order.
    private final class Messages: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(rank: Int, text: String)] = []
        func add(_ rank: Int, _ text: String) { lock.withLock { items.append((rank, text)) } }
        var all: [(rank: Int, text: String)] { lock.withLock { items } }
    }

    func testTwoGroupsOfTwoRanksShareOneStudy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-tune-groups-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TinyModelDirectory.write(to: directory.appendingPathComponent("model"), words: ["good", "bad", "film", "plot", "fine", "dull"])
        var lines = ["label,text"]
        for i in 0..<64 { lines.append(i % 2 == 0 ? "pos,good film fine \(i % 5)" : "neg,bad plot dull \(i % 5)") }
        try (lines.joined(separator: "\n") + "\n").write(
            to: directory.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        var base = TrainingConfiguration()
        base.modelDir = directory.appendingPathComponent("model").path
        base.trainFile = directory.appendingPathComponent("train.csv").path
        base.deduplicate = false
        base.maxSteps = 3
        base.perDeviceTrainBatchSize = 4
        base.evalStrategy = .steps
        base.evalSteps = 1
        base.saveStrategy = .no
        let space = try SearchSpace.parse(
            yaml: "sampler: random\nmin_resource: 1\nreduction_factor: 2\nlearning_rate: {loguniform: [1e-4, 1e-2]}")
        let studyDirectory = directory.appendingPathComponent("study")
        let groupWorlds = [
            InProcessCommunicator.makeWorld(size: 2, receiveTimeout: 120), InProcessCommunicator.makeWorld(size: 2, receiveTimeout: 120),
        ]
        let messages = Messages()
        let configuration = base
        let ended = try InProcessCommunicator.run(size: 4, receiveTimeout: 120) { world -> [Int] in
            let study = world.rank == 0 ? try Study(space: space, directory: studyDirectory, trials: 4) : nil
            let groups = try TuneGroups(
                world: world, ranksPerTrial: 2, study: study, split: { color, key in groupWorlds[color][key % 2] })
            XCTAssertEqual(groups.group.size, 2)
            try groups.run(TrialRunner(base: configuration, space: space, directory: studyDirectory)) { messages.add(world.rank, $0) }
            return study?.records.map(\.number) ?? []
        }
        XCTAssertEqual(ended[0], [0, 1, 2, 3], "rank 0 recorded every trial once")
        let records = try TrialRecord.readStudy(studyDirectory.appendingPathComponent("study.jsonl"))
        XCTAssertEqual(records.map(\.number), [0, 1, 2, 3])
        for record in records { XCTAssertNotEqual(record.state, .failed, record.error ?? "") }
        // Which trials each rank started: both ranks of a group the same ones, and both groups some.
        func started(_ rank: Int) -> [String] {
            messages.all.filter { $0.rank == rank && $0.text.contains(": learning_rate=") }.map { String($0.text.prefix(10)) }
        }
        XCTAssertEqual(started(0), started(1), "a group's ranks train the same trials together")
        XCTAssertEqual(started(2), started(3))
        XCTAssertFalse(started(0).isEmpty, "group 0 ran trials")
        XCTAssertFalse(started(2).isEmpty, "group 1 ran trials")
        XCTAssertEqual(Set(started(0) + started(2)).count, 4, "no trial ran in both groups")
        XCTAssertTrue(FileManager.default.fileExists(atPath: studyDirectory.appendingPathComponent("best.yaml").path))
    }
}

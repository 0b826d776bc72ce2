import Foundation
import XCTest
@testable import FTTrain

/// `ABLog` and `ABLogReader`: the line format, the refusals (unknown request id, label count,
/// duplicate id), concurrent writers, and reading back a log that a crash cut mid-line (tolerated
/// at the end only; corruption elsewhere is reported by line number).
final class ABLogTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ablog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String = "ab.jsonl") -> String { directory.appendingPathComponent(name).path }
    private func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    private let date = Date(timeIntervalSince1970: 1_796_652_000.5)

    func testLinesAndRoundTrip() throws {
        let file = path()
        let log = try ABLog(path: file)
        try log.logPrediction(id: "r1", route: "sentiment", arm: "full", model: "full", labels: ["pos"], date: date)
        try log.logPrediction(id: "r\"2\n", route: "sentiment", arm: "lora", model: "lora-v2", labels: ["neg", "négatif\t"], date: date)
        let served = try log.logFeedback(id: "r\"2\n", labels: ["neg", "pos"], date: date)
        XCTAssertEqual(served.arm, "lora")
        log.close()
        XCTAssertEqual(
            try text(file),
            """
            {"kind":"prediction","id":"r1","route":"sentiment","arm":"full","model":"full","labels":["pos"],"time":"2026-12-07T14:00:00.500Z"}
            {"kind":"prediction","id":"r\\"2\\n","route":"sentiment","arm":"lora","model":"lora-v2","labels":["neg","négatif\\t"],"time":"2026-12-07T14:00:00.500Z"}
            {"kind":"feedback","id":"r\\"2\\n","labels":["neg","pos"],"time":"2026-12-07T14:00:00.500Z"}

            """)
        // Every line is JSON that Foundation reads too.
        for line in try text(file).split(separator: "\n") {
            XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let contents = try ABLogReader.read(path: file)
        XCTAssertEqual(contents.recordCount, 3)
        XCTAssertFalse(contents.droppedTruncatedLine)
        XCTAssertEqual(contents.ledger.order, ["r1", "r\"2\n"])
        XCTAssertEqual(contents.ledger["r\"2\n"]?.prediction.labels, ["neg", "négatif\t"])
        XCTAssertEqual(contents.ledger["r\"2\n"]?.trueLabels, ["neg", "pos"])
        XCTAssertNil(contents.ledger["r1"]?.trueLabels)
        XCTAssertEqual(contents.ledger.entries, log.snapshot.entries)
    }

    func testRefusalsLeaveTheFileUnchanged() throws {
        let file = path()
        let log = try ABLog(path: file)
        try log.logPrediction(id: "r1", route: "s", arm: "a", model: "a", labels: ["pos", "neg"], date: date)
        let before = try text(file)
        XCTAssertThrowsError(try log.logFeedback(id: "nope", labels: ["pos"])) { error in
            XCTAssertEqual(error as? ABTestingError, .unknownRequest("nope"))
            XCTAssertEqual("\(error)", "A/B feedback: no A/B prediction was served with request id \"nope\"")
        }
        XCTAssertThrowsError(try log.logFeedback(id: "r1", labels: ["pos"])) { error in
            XCTAssertEqual(error as? ABTestingError, .feedbackCount(id: "r1", expected: 2, found: 1))
        }
        XCTAssertThrowsError(try log.logPrediction(id: "r1", route: "s", arm: "b", model: "b", labels: ["pos"])) { error in
            XCTAssertEqual(error as? ABTestingError, .duplicateRequest("r1"))
        }
        XCTAssertThrowsError(try log.logPrediction(id: "r2", route: "s", arm: "b", model: "b", labels: []))
        XCTAssertEqual(try text(file), before)
        // Feedback may be corrected: the latest counts.
        try log.logFeedback(id: "r1", labels: ["pos", "pos"])
        try log.logFeedback(id: "r1", labels: ["neg", "neg"])
        XCTAssertEqual(log.snapshot["r1"]?.trueLabels, ["neg", "neg"])
        XCTAssertEqual(log.snapshot.feedbackCount, 2)
        log.close()
        XCTAssertThrowsError(try log.logFeedback(id: "r1", labels: ["pos", "pos"])) { error in
            XCTAssertEqual(error as? ABTestingError, .io(path: file, message: "the A/B log is closed"))
        }
    }

    func testConcurrentWritersProduceWholeLines() throws {
        let file = path()
        let log = try ABLog(path: file)
        let threads = 8, perThread = 400
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                let id = "t\(t)-\(i)"
                try! log.logPrediction(id: id, route: "s", arm: t % 2 == 0 ? "a" : "b", model: "m", labels: ["pos"])
                if i % 2 == 0 { try! log.logFeedback(id: id, labels: [i % 4 == 0 ? "pos" : "neg"]) }
            }
        }
        log.close()
        let contents = try ABLogReader.read(path: file)
        XCTAssertEqual(contents.recordCount, threads * perThread * 3 / 2)
        XCTAssertEqual(contents.ledger.entries.count, threads * perThread)
        XCTAssertEqual(contents.ledger.entries.values.filter { $0.trueLabels != nil }.count, threads * perThread / 2)
        XCTAssertEqual(try text(file).split(separator: "\n").count, contents.recordCount)
    }

    func testTruncatedLastLineIsDroppedAndRepairedOnReopen() throws {
        let file = path()
        var log: ABLog? = try ABLog(path: file)
        try log!.logPrediction(id: "r1", route: "s", arm: "a", model: "a", labels: ["pos"], date: date)
        try log!.logPrediction(id: "r2", route: "s", arm: "b", model: "b", labels: ["neg"], date: date)
        log = nil
        let whole = try text(file)
        // A crash in the middle of the third line, even inside a multi-byte character.
        let partial = Array("{\"kind\":\"feedback\",\"id\":\"r1\",\"labels\":[\"pé".utf8).dropLast()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(partial))
        try handle.close()

        let contents = try ABLogReader.read(path: file)
        XCTAssertTrue(contents.droppedTruncatedLine)
        XCTAssertEqual(contents.recordCount, 2)
        XCTAssertEqual(contents.intactLength, whole.utf8.count)

        let reopened = try ABLog(path: file)
        XCTAssertTrue(reopened.recoveredTruncatedLine)
        XCTAssertEqual(reopened.snapshot.order, ["r1", "r2"])
        try reopened.logFeedback(id: "r2", labels: ["neg"], date: date)
        reopened.close()
        XCTAssertEqual(
            try text(file), whole + "{\"kind\":\"feedback\",\"id\":\"r2\",\"labels\":[\"neg\"],\"time\":\"2026-12-07T14:00:00.500Z\"}\n")
        XCTAssertFalse(try ABLogReader.read(path: file).droppedTruncatedLine)
    }

    func testWholeLastRecordWithoutNewlineIsKept() throws {
        let file = path()
        let line = ABLogRecord.prediction(ABPrediction(id: "r1", route: "s", arm: "a", model: "a", labels: ["x"], time: "t")).line
        try String(line.dropLast()).write(toFile: file, atomically: true, encoding: .utf8)
        let contents = try ABLogReader.read(path: file)
        XCTAssertEqual(contents.recordCount, 1)
        XCTAssertFalse(contents.droppedTruncatedLine)
        XCTAssertTrue(contents.lacksFinalNewline)
        let log = try ABLog(path: file)
        try log.logFeedback(id: "r1", labels: ["y"])
        log.close()
        XCTAssertEqual(try ABLogReader.read(path: file).recordCount, 2)
    }

    func testCorruptionBeforeTheLastLineNamesTheLine() throws {
        let good = ABLogRecord.prediction(ABPrediction(id: "r1", route: "s", arm: "a", model: "a", labels: ["x"], time: "t")).line
        let feedback = ABLogRecord.feedback(ABFeedback(id: "r1", labels: ["x"], time: "t")).line
        let cases: [(String, Int, String)] = [
            (good + "{\"kind\":\"pred\n" + feedback, 2, "invalid JSON at column "),
            (good + "\n" + "[1]\n" + feedback, 3, "expected an object, found an array"),
            (good + "{\"kind\":\"prediction\",\"id\":\"r2\"}\n", 2, "missing \"route\""),
            (good + "{\"kind\":\"vote\"}\n", 2, "unknown \"kind\" \"vote\""),
            (
                good + "{\"kind\":\"feedback\",\"id\":\"r9\",\"labels\":[\"x\"],\"time\":\"t\"}\n", 2,
                "no A/B prediction was served with request id \"r9\""
            ),
            (good + good, 2, "request id \"r1\" was already logged"),
            (good + "{\"kind\":\"feedback\",\"id\":\"r1\",\"labels\":[1],\"time\":\"t\"}\n", 2, "\"labels\" holds a number, not a string"),
            (good + "{\"kind\":\"feedback\",\"id\":\"r1\",\"id\":\"r1\",\"labels\":[\"x\"],\"time\":\"t\"}\n", 2, "key \"id\" appears twice"),
        ]
        for (index, (content, line, message)) in cases.enumerated() {
            let file = path("bad\(index).jsonl")
            try content.write(toFile: file, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ABLogReader.read(path: file), "case \(index)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("\(file):\(line): corrupt A/B log line: "), text)
                XCTAssertTrue(text.contains(message), "case \(index): \(text)")
            }
            // A server must not append to a corrupt log either.
            XCTAssertThrowsError(try ABLog(path: file), "case \(index)")
        }
        // Invalid UTF-8 in a middle line.
        let file = path("utf8.jsonl")
        try (Data(good.utf8) + Data([0x7B, 0xFF, 0x7D, 0x0A]) + Data(feedback.utf8)).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try ABLogReader.read(path: file)) { error in
            XCTAssertEqual(error as? ABTestingError, .corruptLine(path: file, line: 2, message: "not valid UTF-8"))
        }
    }

    func testMissingFileAndUnwritablePath() {
        let missing = path("missing.jsonl")
        XCTAssertThrowsError(try ABLogReader.read(path: missing)) { error in
            XCTAssertEqual("\(error)", "\(missing): no such file")
        }
        let nowhere = path("no/such/dir/ab.jsonl")
        XCTAssertThrowsError(try ABLog(path: nowhere)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(nowhere): cannot open the A/B log: "), "\(error)")
        }
    }

    func testTimestamps() {
        XCTAssertEqual(ABLog.timestamp(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(ABLog.timestamp(Date(timeIntervalSince1970: 951_782_400.75)), "2000-02-29T00:00:00.750Z")
        XCTAssertEqual(ABLog.timestamp(date), "2026-12-07T14:00:00.500Z")
    }
}

import Foundation
import TestSupport
import XCTest

/// `fttrain ab-report` run as a user would: the table and the JSON of a small log, the route filter,
/// the note for a partial last line, and the errors for an unknown route, a corrupt line and a
/// missing file.
final class ABReportCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ab-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Arm "a": 10 requests, 9 right; arm "b": 10 requests, 7 right; all with feedback.
    private func writeLog(_ name: String = "ab.jsonl", tail: String = "") throws -> String {
        var text = ""
        for i in 0..<20 {
            let arm = i < 10 ? "a" : "b"
            let right = i < 10 ? i < 9 : i < 17
            text +=
                "{\"kind\":\"prediction\",\"id\":\"r\(i)\",\"route\":\"sentiment\",\"arm\":\"\(arm)\",\"model\":\"\(arm)\",\"labels\":[\"pos\"],\"time\":\"t\"}\n"
            text += "{\"kind\":\"feedback\",\"id\":\"r\(i)\",\"labels\":[\"\(right ? "pos" : "neg")\"],\"time\":\"t\"}\n"
        }
        let path = directory.appendingPathComponent(name).path
        try (text + tail).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testTableAndJSON() throws {
        let log = try writeLog()
        let table = try FTTrainProcess.run(["ab-report", "--log", log])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertEqual(
            table.stdout,
            """
            route sentiment
              arm  requests       n  correct  accuracy  95% CI (Wilson)
              a          10      10        9    0.9000  [0.5958, 0.9821]
              b          10      10        7    0.7000  [0.3968, 0.8922]
              a - b: difference +0.2000, 95% CI [-0.1598, +0.5141] (Newcombe); z = 1.12, p = 0.2636 (pooled two-proportion z-test)

            """)
        let json = try FTTrainProcess.run(["ab-report", "--log", log, "--route", "sentiment", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let route = try XCTUnwrap((object["routes"] as? [[String: Any]])?.first)
        let arms = try XCTUnwrap(route["arms"] as? [[String: Any]])
        XCTAssertEqual(arms.map { $0["correct"] as? Int }, [9, 7])
        let comparison = try XCTUnwrap((route["comparisons"] as? [[String: Any]])?.first)
        // statsmodels: proportions_ztest([9, 7], [10, 10]) = (1.1180339887498953, 0.2635524772829726)
        XCTAssertEqual(try XCTUnwrap(comparison["z"] as? Double), 1.1180339887498953, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(comparison["p_value"] as? Double), 0.2635524772829726, accuracy: 1e-12)
    }

    func testPartialLastLineIsANote() throws {
        let log = try writeLog(tail: "{\"kind\":\"feedback\",\"id\":\"r")
        let r = try FTTrainProcess.run(["ab-report", "--log", log])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(log): note: skipped a partial last line"), r.stderr)
        XCTAssertTrue(r.stdout.contains("a          10      10        9"), r.stdout)
    }

    func testErrors() throws {
        let log = try writeLog()
        let unknown = try FTTrainProcess.run(["ab-report", "--log", log, "--route", "nope"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no predictions on route \"nope\"; routes in the log: sentiment"), unknown.stderr)

        let corrupt = try writeLog("corrupt.jsonl", tail: "not json\n{\"kind\":\"feedback\",\"id\":\"r1\",\"labels\":[\"pos\"],\"time\":\"t\"}\n")
        let bad = try FTTrainProcess.run(["ab-report", "--log", corrupt])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("\(corrupt):41: corrupt A/B log line: invalid JSON"), bad.stderr)

        let missing = directory.appendingPathComponent("missing.jsonl").path
        let none = try FTTrainProcess.run(["ab-report", "--log", missing])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("\(missing): no such file"), none.stderr)

        let usage = try FTTrainProcess.run(["ab-report"])
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertTrue(usage.stderr.contains("--log"), usage.stderr)
    }
}

import Foundation
import TestSupport
import XCTest

/// `fttrain train` writes `report.html` and `predictions.jsonl` at the end of a run, and
/// `fttrain report` overlays two runs, through the built binary on a tiny model (seconds).
final class ReportCommandTests: TinyRunTestCase {
    func testTrainingWritesItsReportAndReportOverlaysRuns() throws {
        let (result, output) = try train(["--max-steps", "12", "--eval-strategy", "steps", "--eval-steps", "6"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("report written"), result.stderr)
        let html = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        func count(_ needle: String, _ text: String) -> Int { text.components(separatedBy: needle).count - 1 }
        // 4 training curves, an evaluation curve per eval_* key, 2 heatmaps, 1 ROC.
        let log = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8)
        var evalKeys = Set<String>()
        for line in log.split(separator: "\n") {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            evalKeys.formUnion(record.keys.filter { $0.hasPrefix("eval_") })
        }
        XCTAssertGreaterThan(evalKeys.count, 3)
        XCTAssertEqual(count("<figure class=\"chart\"", html), 4 + evalKeys.count + 3)
        XCTAssertFalse(html.contains("http://") && html.contains("<link"), "no external resources")
        XCTAssertFalse(html.contains("src=\"http"), "no external resources")
        // Every example of the reported (test) split has a line of predictions.jsonl.
        let test = try String(contentsOf: output.appendingPathComponent("data/test.jsonl"), encoding: .utf8)
        let predictions = try String(contentsOf: output.appendingPathComponent("predictions.jsonl"), encoding: .utf8)
        XCTAssertEqual(count("\n", predictions), count("\n", test))
        let errors = try String(contentsOf: output.appendingPathComponent("errors.jsonl"), encoding: .utf8)
        XCTAssertEqual(count("<tr data-label=", html), count("\n", errors))

        // Two runs overlaid into one file named by --output.
        let second = directory.appendingPathComponent("second")
        try FileManager.default.copyItem(at: output, to: second)
        let overlay = directory.appendingPathComponent("both.html")
        let report = try FTTrainProcess.run(["report", output.path, second.path, "--output", overlay.path])
        XCTAssertEqual(report.status, 0, report.stderr)
        let both = try String(contentsOf: overlay, encoding: .utf8)
        XCTAssertEqual(count("<figure class=\"chart\"", both), 4 + evalKeys.count + 2 * 3)
        XCTAssertEqual(count("data-series=\"second\"", both), 4 + evalKeys.count)

        let missing = try FTTrainProcess.run(["report", directory.appendingPathComponent("nowhere").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nowhere: no such run directory"), missing.stderr)
    }
}

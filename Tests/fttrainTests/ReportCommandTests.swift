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

/// `--trace FILE`: a Chrome trace of a tiny run whose spans nest on each track and cover every
/// step, with the model's embeddings, each layer and the head inside every forward and backward.
final class TraceCommandTests: TinyRunTestCase {
    func testTraceCoversEveryStepAndNests() throws {
        let traceFile = directory.appendingPathComponent("timeline.json")
        let (result, output) = try train([
            "--max-steps", "8", "--eval-strategy", "steps", "--eval-steps", "4", "--save-strategy", "steps", "--save-steps", "4",
            "--gradient-accumulation-steps", "2", "--trace", traceFile.path,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("trace.json").path), "trace_file decides where")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: traceFile)) as! [String: Any]
        let spans = (object["traceEvents"] as! [[String: Any]]).filter { $0["ph"] as? String == "X" }
        func named(_ prefix: String) -> [[String: Any]] { spans.filter { ($0["name"] as! String).hasPrefix(prefix) } }
        XCTAssertEqual(named("step ").count, 8)
        XCTAssertEqual(named("data").count, 8)
        XCTAssertEqual(named("forward").count, 16, "two micro-batches a step")
        XCTAssertEqual(named("backward").count, 16)
        XCTAssertEqual(named("optimizer").count, 8)
        XCTAssertEqual(named("checkpoint").count, 2)
        XCTAssertGreaterThanOrEqual(named("evaluation").count, 2)
        XCTAssertEqual(named("loss").count, 16)
        // Inside each forward: embeddings, layers 0 and 1, head, back to back; inside each
        // backward the reverse (the tiny model has two layers; its embeddings train).
        func inside(_ outer: [String: Any]) -> [String] {
            let start = outer["ts"] as! Double, end = start + (outer["dur"] as! Double)
            return spans.filter { span in
                let s = span["ts"] as! Double
                return span["cat"] as? String == "layer" && span["pid"] as? Int == outer["pid"] as? Int && s >= start - 1
                    && s + (span["dur"] as! Double) <= end + 1
            }
            .sorted { ($0["ts"] as! Double) < ($1["ts"] as! Double) }.map { $0["name"] as! String }
        }
        for forward in named("forward") {
            XCTAssertEqual(inside(forward), ["embeddings forward", "layer 0 forward", "layer 1 forward", "head forward"])
        }
        for backward in named("backward") {
            XCTAssertEqual(inside(backward), ["head backward", "layer 1 backward", "layer 0 backward", "embeddings backward"])
        }
        XCTAssertEqual(spans.filter { $0["cat"] as? String == "layer" }.count, 16 * 8, "no layer spans outside training passes")
        // Every forward, backward and optimizer span lies inside a step span.
        var steps: [(start: Double, end: Double)] = []
        for span in named("step ") {
            let start = span["ts"] as! Double
            steps.append((start, start + (span["dur"] as! Double)))
        }
        for span in named("forward") + named("backward") + named("optimizer") {
            let start = span["ts"] as! Double
            let end = start + (span["dur"] as! Double)
            XCTAssertTrue(steps.contains { $0.start <= start + 1 && end <= $0.end + 1 }, "\(span) is in no step")
        }
        // On one track, spans nest or follow each other: never partly overlap.
        typealias Interval = (start: Double, end: Double, name: String)
        var ordered: [Interval] = []
        for span in spans where span["tid"] as? Int == 0 {
            let start = span["ts"] as! Double
            let duration = span["dur"] as! Double
            ordered.append((start, start + duration, span["name"] as! String))
        }
        ordered.sort { a, b in a.start < b.start || (a.start == b.start && a.end > b.end) }
        var open: [Interval] = []
        for span in ordered {
            while let top = open.last, top.end <= span.start + 1 { open.removeLast() }
            if let top = open.last { XCTAssertLessThanOrEqual(span.end, top.end + 1, "\(span.name) overlaps \(top.name) partly") }
            open.append(span)
        }
    }
}

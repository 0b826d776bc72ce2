import Foundation
import XCTest

@testable import FTTrain

/// The HTML report's generator on run directories written by hand: the number of charts, series,
/// table rows and markers it draws from known files, the escaping of every text taken from the data,
/// the ROC curve's area against hand-computed values, and the errors that name a malformed file.
final class RunReportTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The hostile label: tags, quotes and an ampersand, as a data set could hold.
    static let evilLabel = "<script>alert('x')</script>&\"q\""

    /// A run with 3 training records, 2 evaluations (the best one, by accuracy, at step 20), two
    /// classes (one hostile name), 2 errors and 4 scored examples.
    func writeRun(_ name: String, lossScale: Double = 1) throws -> URL {
        let run = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run.appendingPathComponent("data"), withIntermediateDirectories: true)
        func write(_ file: String, _ text: String) throws {
            try text.write(to: run.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        try write(
            "log.jsonl",
            """
            {"epoch":0.5,"grad_norm":2.5,"learning_rate":0.001,"loss":\(1.2 * lossScale),"samples_per_second":100,"step":10}
            {"epoch":0.5,"eval_accuracy":0.5,"eval_loss":0.9,"step":10}
            {"epoch":1,"grad_norm":1.5,"learning_rate":0.0005,"loss":\(0.8 * lossScale),"samples_per_second":110,"step":20}
            {"epoch":1,"eval_accuracy":0.75,"eval_loss":0.95,"step":20}
            {"epoch":1.5,"grad_norm":1.0,"learning_rate":0.0001,"loss":\(0.5 * lossScale),"samples_per_second":120,"step":30}

            """)
        try write("metrics.json", "{\"test_accuracy\": 0.75, \"train_loss\": 0.8}")
        try write("training_config.yaml", "metric_for_best_model: accuracy\nlearning_rate: 0.001\nnote: \"<b>bold</b>\"\n")
        let quoted = "\"" + Self.evilLabel.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        try write("confusion_matrix.csv", "true\\predicted,good,\(quoted)\ngood,1,1\n\(quoted),0,2\n")
        let evil = Self.evilLabel.replacingOccurrences(of: "\"", with: "\\\"")
        try write(
            "errors.jsonl",
            """
            {"label":"good","predicted":"\(evil)","probabilities":{"good":0.4,"\(evil)":0.6},"text":"<img src=x onerror=alert(1)> & more","source":"t.csv:2"}
            {"label":"good","predicted":"\(evil)","probabilities":{"good":0.1,"\(evil)":0.9},"text":"second","source":"t.csv:3"}

            """)
        try write(
            "predictions.jsonl",
            """
            {"label":"good","probabilities":{"good":0.9,"\(evil)":0.1}}
            {"label":"good","probabilities":{"good":0.6,"\(evil)":0.4}}
            {"label":"\(evil)","probabilities":{"good":0.7,"\(evil)":0.3}}
            {"label":"\(evil)","probabilities":{"good":0.2,"\(evil)":0.8}}

            """)
        try write(
            "data/train.jsonl", "{\"label\":\"good\",\"text\":\"a\"}\n{\"label\":\"good\",\"text\":\"b\"}\n{\"label\":\"\(evil)\",\"text\":\"c\"}\n")
        return run
    }

    func count(_ needle: String, in html: String) -> Int { html.components(separatedBy: needle).count - 1 }

    func testOneRunDrawsEveryChartAndTable() throws {
        let html = RunReport.html([try RunArtifacts.read(try writeRun("run"))])
        // 4 training curves + 2 evaluation curves + 2 heatmaps + 1 ROC.
        XCTAssertEqual(count("<figure class=\"chart\"", in: html), 9)
        XCTAssertEqual(count("<svg ", in: html), 9)
        for id in ["train-loss", "train-learning_rate", "train-grad_norm", "train-samples_per_second", "eval-eval_accuracy", "eval-eval_loss"] {
            XCTAssertEqual(count("data-chart=\"\(id)\"", in: html), 1, id)
        }
        XCTAssertEqual(count("data-chart=\"train-allreduce_fraction\"", in: html), 0, "no data-parallel chart for one process")
        // The best checkpoint (accuracy 0.75 at step 20) is marked on both evaluation charts.
        XCTAssertEqual(count("<g class=\"marker\"><title>best checkpoint, step 20 (eval_accuracy 0.75)</title>", in: html), 2)
        // Per-class table: 2 classes + macro + weighted; errors table: 2 rows; heatmap: 2 × 4 cells.
        XCTAssertEqual(rows(of: "per-class", in: html), 4)
        XCTAssertEqual(count("<tr data-label=", in: html), 2)
        XCTAssertEqual(count("<g class=\"cell\">", in: html), 8)
        XCTAssertTrue(
            html.contains(
                "<td>good</td><td class=\"num\">1.0000</td><td class=\"num\">0.5000</td><td class=\"num\">0.6667</td><td class=\"num\">2</td>"))
        XCTAssertEqual(rows(of: "data-sizes", in: html), 3, "2 labels + total")
        XCTAssertEqual(rows(of: "settings", in: html), 3)
        XCTAssertTrue(html.contains("AUC 0.7500"), "class good: 3 of 4 positive-negative pairs ordered")
    }

    func testTextsFromTheDataAreEscaped() throws {
        let html = RunReport.html([try RunArtifacts.read(try writeRun("run"))])
        XCTAssertFalse(html.contains("<script>alert"), "a label must not become a script element")
        XCTAssertFalse(html.contains("<img src=x"), "an example text must not become an element")
        XCTAssertFalse(html.contains("<b>bold"), "a setting must not become markup")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;q&quot;"))
        XCTAssertTrue(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; more"))
        XCTAssertEqual(count("<script>", in: html), 1, "the report's own script only")
        XCTAssertEqual(ReportHTML.escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;")
    }

    func testSeveralRunsOverlay() throws {
        let a = try RunArtifacts.read(try writeRun("a")), b = try RunArtifacts.read(try writeRun("b", lossScale: 2))
        let html = RunReport.html([a, b])
        // Shared curves once each, 2 series apiece; per-run figures twice.
        XCTAssertEqual(count("<figure class=\"chart\"", in: html), 6 + 2 * 3)
        XCTAssertEqual(count("data-series=\"a\"", in: html), 6)
        XCTAssertEqual(count("data-series=\"b\"", in: html), 6)
        XCTAssertTrue(html.contains("<th>metric</th><th>a</th><th>b</th>"))
        XCTAssertEqual(count("<tr data-label=", in: html), 4)
        // Same directory names are told apart.
        let renamed = RunReport.distinctNames([a, a]).map(\.name)
        XCTAssertNotEqual(renamed[0], renamed[1])
    }

    func testROCAreaAgainstHandComputedValues() {
        typealias Example = RunArtifacts.ScoredExample
        let examples = [
            Example(label: "p", probabilities: ["p": 0.9]), Example(label: "n", probabilities: ["p": 0.7]),
            Example(label: "p", probabilities: ["p": 0.6]), Example(label: "n", probabilities: ["p": 0.2]),
        ]
        let curve = ClassificationFigures.roc(examples, positive: "p")!
        XCTAssertEqual(curve.auc, 0.75, accuracy: 1e-12)
        XCTAssertEqual(curve.points.map(\.x), [0, 0, 0.5, 0.5, 1])
        XCTAssertEqual(curve.points.map(\.y), [0, 0.5, 0.5, 1, 1])
        // Ties: one threshold step, the diagonal's area.
        let tied = ["p", "n", "p", "n"].map { Example(label: $0, probabilities: ["p": 0.5]) }
        XCTAssertEqual(ClassificationFigures.roc(tied, positive: "p")!.auc, 0.5, accuracy: 1e-12)
        XCTAssertNil(ClassificationFigures.roc(Array(examples.prefix(1)), positive: "p"), "no negatives, no curve")
    }

    func testMalformedFilesAreNamed() throws {
        let run = try writeRun("run")
        try "{\"step\": 1}\nnot json\n".write(to: run.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunArtifacts.read(run)) { error in
            XCTAssertTrue("\(error)".contains("log.jsonl:2"), "\(error)")
        }
        try "{}\n".write(to: run.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        try "true\\predicted,a,b\na,1\n".write(to: run.appendingPathComponent("confusion_matrix.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunArtifacts.read(run)) { error in
            XCTAssertTrue("\(error)".contains("confusion_matrix.csv:2"), "\(error)")
        }
        XCTAssertThrowsError(try RunArtifacts.read(directory.appendingPathComponent("absent"))) { error in
            XCTAssertTrue("\(error)".contains("no such run directory"), "\(error)")
        }
        XCTAssertThrowsError(try RunArtifacts.read(run.appendingPathComponent("data"))) { error in
            XCTAssertTrue("\(error)".contains("not a run directory"), "\(error)")
        }
    }

    func testFederatedRoundsAreCharted() throws {
        let run = directory.appendingPathComponent("federation")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try """
        {"aggregation":"fedavg","bytes_received":{"s1":10,"s2":20},"bytes_sent":{"s1":5,"s2":5},"epsilon":1.5,"eval_loss":0.9,"missing":{},"reported":["s1","s2"],"round":0,"sampled":["s1","s2"]}
        {"aggregation":"fedavg","bytes_received":{"s1":10},"bytes_sent":{"s1":5,"s2":5},"epsilon":2.5,"eval_loss":0.7,"missing":{"s2":"deadline"},"reported":["s1"],"round":1,"sampled":["s1","s2"]}

        """.write(to: run.appendingPathComponent("rounds.jsonl"), atomically: true, encoding: .utf8)
        let html = RunReport.html([try RunArtifacts.read(run)])
        // eval_loss, sites, bytes sent, bytes received, ε.
        XCTAssertEqual(count("<figure class=\"chart\"", in: html), 5)
        XCTAssertEqual(rows(of: "rounds", in: html), 2)
        XCTAssertTrue(html.contains("s2 (deadline)"))
        // bytes_sent is what each site sent (site → coordinator), bytes_received what it was sent.
        XCTAssertTrue(html.contains("Bytes each site sent per round") && html.contains("Bytes each site received per round"))
    }

    func testConfusionCSVQuotingAndTicks() {
        XCTAssertEqual(CSVFields.rows("a,\"b,\"\"c\"\"\"\r\n1,2\n"), [["a", "b,\"c\""], ["1", "2"]])
        let axis = LineChart.ticks(0.13...0.87)
        XCTAssertEqual(axis.lower, 0, accuracy: 1e-12)
        XCTAssertEqual(axis.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(axis.ticks.count, 6)
    }

    /// Body rows of the first table with `cssClass`.
    func rows(of cssClass: String, in html: String) -> Int {
        guard let start = html.range(of: "<table class=\"\(cssClass)\">"),
            let end = html.range(of: "</table>", range: start.upperBound..<html.endIndex)
        else { return -1 }
        return count("<tr>", in: String(html[start.upperBound..<end.lowerBound])) - 1
    }
}

extension RunReportTests {
    func testTraceTimeSplitPerRank() throws {
        let run = try writeRun("run")
        let events: [[String: Any]] = [
            ["ph": "X", "pid": 0, "tid": 0, "name": "step 1", "cat": "step", "ts": 0, "dur": 5_000_000],
            ["ph": "X", "pid": 0, "tid": 0, "name": "forward", "cat": "compute", "ts": 0, "dur": 1_000_000],
            ["ph": "X", "pid": 0, "tid": 0, "name": "backward", "cat": "compute", "ts": 1, "dur": 2_000_000],
            ["ph": "X", "pid": 0, "tid": 0, "name": "all-reduce wait", "cat": "allreduce", "ts": 2, "dur": 1_000_000],
            ["ph": "X", "pid": 0, "tid": 0, "name": "all-reduce bucket 0", "cat": "allreduce", "ts": 2, "dur": 500_000],
            ["ph": "X", "pid": 1, "tid": 1, "name": "all-reduce bucket 0", "cat": "allreduce", "ts": 2, "dur": 500_000],
            ["ph": "X", "pid": 1, "tid": 0, "name": "data", "cat": "data", "ts": 0, "dur": 1_000_000],
        ]
        try JSONSerialization.data(withJSONObject: ["traceEvents": events]).write(to: run.appendingPathComponent("trace.json"))
        let artifacts = try RunArtifacts.read(run)
        XCTAssertEqual(artifacts.timeSplit.map(\.rank), [0, 1])
        XCTAssertEqual(artifacts.timeSplit[0].steps, 1)
        XCTAssertEqual(artifacts.timeSplit[0].seconds, ["compute": 3, "all-reduce wait": 1], "buckets are inside the wait")
        XCTAssertEqual(artifacts.timeSplit[1].seconds, ["data": 1], "the communication track is not training time")
        let html = RunReport.html([artifacts])
        XCTAssertEqual(rows(of: "time-split", in: html), 2)
        XCTAssertTrue(html.contains("<td class=\"num\">3.000 s (75.0%)</td><td class=\"num\">1.000 s (25.0%)</td>"))
    }
}

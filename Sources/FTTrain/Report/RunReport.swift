import Foundation

/// `fttrain report`: one self-contained HTML file (inline SVG, CSS and a little plain JavaScript;
/// nothing fetched) that shows one or more run directories — training curves with the best
/// checkpoint marked, the classification figures, the misclassified examples, settings, data
/// sizes, lineage and a federation's rounds. Several runs overlay their curves and tabulate their
/// metrics side by side. Written by `fttrain train` and `fttrain federated` at the end of a run.
public enum RunReport {
    /// The file name runs write their report under.
    public static let fileName = "report.html"

    /// Reads `directories` and writes their report to `output`.
    /// - Throws: `ReportError` naming a missing directory or malformed file.
    public static func write(runs directories: [URL], to output: URL) throws {
        let runs = try directories.map(RunArtifacts.read)
        try Data(html(runs).utf8).write(to: output, options: .atomic)
    }

    /// The report of `runs` (their names made distinct first).
    public static func html(_ runs: [RunArtifacts]) -> String {
        let runs = distinctNames(runs)
        let title = "fttrain report: " + runs.map(\.name).joined(separator: ", ")
        var body = "<h1>\(ReportHTML.escape(title))</h1>\n"
        body += "<p class=\"runs\">" + runs.map { "<code>\(ReportHTML.escape($0.directory.path))</code>" }.joined(separator: " ") + "</p>\n"
        body += metricsSection(runs)
        body += ReportCurves.training(runs)
        body += ReportCurves.evaluation(runs)
        for (index, run) in runs.enumerated() { body += runSection(run, index: index, headed: runs.count > 1) }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(ReportHTML.escape(title))</title>
            <style>\(style)</style></head>
            <body>
            \(body)<script>\(ErrorTable.script)</script>
            </body></html>

            """
    }

    /// Runs whose directories end in the same name are told apart by their parent directory.
    static func distinctNames(_ runs: [RunArtifacts]) -> [RunArtifacts] {
        var runs = runs
        let names = runs.map(\.name)
        for i in runs.indices where names.filter({ $0 == names[i] }).count > 1 {
            let parent = runs[i].directory.standardizedFileURL.deletingLastPathComponent().lastPathComponent
            runs[i].name = "\(parent)/\(names[i]) (\(i + 1))"
        }
        return runs
    }

    /// `metrics.json` of every run: a row per metric, a column per run.
    static func metricsSection(_ runs: [RunArtifacts]) -> String {
        let keys = Set(runs.flatMap(\.metrics.keys)).sorted()
        guard !keys.isEmpty else { return "" }
        let rows = keys.map { key in [key] + runs.map { $0.metrics[key].map(ReportHTML.number) ?? "" } }
        return "<section id=\"metrics\"><h2>Final metrics</h2>\n"
            + ReportHTML.table(["metric"] + runs.map(\.name), rows, cssClass: "metrics") + "</section>\n"
    }

    /// What one run alone has: classification figures, errors, data, settings, lineage, federation.
    static func runSection(_ run: RunArtifacts, index: Int, headed: Bool) -> String {
        var html = "<section class=\"run\" id=\"run-\(index)\">"
        if headed { html += "<h2>\(ReportHTML.escape(run.name))</h2>" }
        let prefix = "run\(index)-"
        if !run.confusion.isEmpty {
            html += "<h3>Classification (the test split when there is one, else validation)</h3><div class=\"row\">"
            html += ClassificationFigures.heatmap(names: run.classNames, counts: run.confusion, normalised: false, id: prefix + "confusion")
            html += ClassificationFigures.heatmap(
                names: run.classNames, counts: run.confusion, normalised: true, id: prefix + "confusion-normalised")
            html += "</div>\n<h3>Per class</h3>\n"
            html += ReportHTML.table(
                ["class", "precision", "recall", "F1", "support"],
                ClassificationFigures.perClassRows(names: run.classNames, counts: run.confusion), cssClass: "per-class")
        }
        if !run.scored.isEmpty,
            let roc = ClassificationFigures.rocChart(
                names: run.classNames.isEmpty ? Array(Set(run.scored.map(\.label))).sorted() : run.classNames, examples: run.scored,
                id: prefix + "roc")
        {
            html += "<h3>ROC</h3>\n" + roc
        }
        if FileManager.default.fileExists(atPath: run.directory.appendingPathComponent("errors.jsonl").path) {
            html += "<h3>Misclassified examples (\(run.errors.count))</h3>\n"
            html += ErrorTable.html(run.errors, labels: run.classNames, id: prefix + "errors")
        }
        if !run.rounds.isEmpty { html += FederatedFigures.html(run.rounds, prefix: prefix) }
        if !run.timeSplit.isEmpty { html += timeSplitTable(run.timeSplit) }
        if !run.dataSizes.isEmpty {
            let labels = Set(run.dataSizes.flatMap(\.counts.keys)).sorted()
            var rows = labels.map { label in [label] + run.dataSizes.map { String($0.counts[label] ?? 0) } }
            rows.append(["total"] + run.dataSizes.map { String($0.counts.values.reduce(0, +)) })
            html += "<h3>Data: examples per split and label</h3>\n"
            html += ReportHTML.table(["label"] + run.dataSizes.map(\.split), rows, cssClass: "data-sizes")
        }
        if !run.settings.isEmpty {
            html += "<h3>Settings (training_config.yaml)</h3>\n"
            html += ReportHTML.table(["key", "value"], run.settings.map { [$0.key, $0.value] }, cssClass: "settings", numericFrom: 2)
        }
        if let lineage = run.lineage {
            html += "<h3>Lineage (lineage.json)</h3>\n<pre class=\"lineage\">\(ReportHTML.escape(lineage))</pre>\n"
        }
        return html + "</section>\n"
    }

    /// The time split of `trace.json`: a row per rank, seconds and share per phase, per step.
    static func timeSplitTable(_ split: [(rank: Int, seconds: [String: Double], steps: Int)]) -> String {
        let phases = ["compute", "all-reduce wait", "data", "optimizer", "eval", "checkpoint"]
        let rows = split.map { entry -> [String] in
            let total = phases.reduce(0) { $0 + (entry.seconds[$1] ?? 0) }
            return ["rank \(entry.rank)", String(entry.steps)]
                + phases.map { phase in
                    let seconds = entry.seconds[phase] ?? 0
                    return String(format: "%.3f s (%.1f%%)", seconds, total > 0 ? 100 * seconds / total : 0)
                } + [String(format: "%.1f ms", entry.steps > 0 ? 1000 * total / Double(entry.steps) : 0)]
        }
        return "<h3>Time split per rank (trace.json)</h3>\n"
            + ReportHTML.table(["rank", "steps"] + phases + ["per step"], rows, cssClass: "time-split")
    }

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1400px}
        h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin-top:22px}
        .row{display:flex;flex-wrap:wrap;gap:16px}
        figure.chart{display:inline-block;margin:8px 16px 8px 0;vertical-align:top;width:560px;max-width:100%}
        figure.chart svg{width:100%;height:auto;background:#fff}
        figcaption{font-weight:600;margin-bottom:4px}
        .grid{stroke:#eee}.frame{fill:none;stroke:#999}.chance{stroke:#bbb;stroke-dasharray:4 4}
        .tick{font-size:10px;fill:#555}.axis{font-size:11px;fill:#333}
        .cell text{font-size:11px}
        .legend{font-size:12px}.legend span{margin-right:12px;white-space:nowrap}
        .legend i{display:inline-block;width:14px;height:3px;margin:0 4px 3px 0;vertical-align:middle}
        .legend b{display:inline-block;width:8px;height:8px;border:2px solid;border-radius:50%;margin-right:4px;vertical-align:middle}
        table{border-collapse:collapse;margin:8px 0;font-size:13px}
        th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
        th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
        td.text{max-width:700px}th.sortable{cursor:pointer}
        pre.lineage{background:#f7f7f7;padding:8px;overflow:auto;max-height:400px}
        .error-filter{margin:6px 0}.error-filter .shown{margin-left:12px;color:#555}
        code{font-size:12px}
        """
}

extension RunReport {
    /// The end of a run: its report as `output/report.html`. A report that cannot be written is a
    /// warning (`log`), never a failed run: the model and metrics are already on disk.
    public static func writeAtEnd(of output: URL, log: (String) -> Void) {
        let destination = output.appendingPathComponent(fileName)
        do {
            try write(runs: [output], to: destination)
            log("report written: \(destination.path)")
        } catch {
            log("warning: no report written: \(error)")
        }
    }
}

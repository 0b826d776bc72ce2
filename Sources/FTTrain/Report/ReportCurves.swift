import Foundation

/// The curves of `log.jsonl` against steps: the training records' loss, learning rate, gradient
/// norm, samples/s (and, for data-parallel runs, rank 0's all-reduce share of the step), and every
/// `eval_*` metric of the evaluation records with each run's best checkpoint marked. One series per
/// run, so several runs overlay.
enum ReportCurves {
    /// The training record fields charted, with their titles.
    static let trainingFields: [(key: String, title: String)] = [
        ("loss", "Training loss"), ("learning_rate", "Learning rate"), ("grad_norm", "Gradient norm (before clipping)"),
        ("samples_per_second", "Samples per second"),
        ("allreduce_fraction", "Data parallel: share of the step in the gradient all-reduce (rank 0, waits included)"),
    ]

    /// A training record: one with `loss` and no `eval_*` key.
    static func trainingRecords(_ run: RunArtifacts) -> [[String: Double]] {
        run.log.filter { $0["loss"] != nil && !$0.keys.contains { $0.hasPrefix("eval_") } }
    }

    static func evaluationRecords(_ run: RunArtifacts) -> [[String: Double]] {
        run.log.filter { $0.keys.contains { $0.hasPrefix("eval_") } }
    }

    static func training(_ runs: [RunArtifacts]) -> String {
        var charts = ""
        for field in trainingFields {
            let series = runs.enumerated().compactMap { index, run -> LineChart.Series? in
                let points = trainingRecords(run).compactMap { record in
                    record[field.key].flatMap { value in record["step"].map { (x: $0, y: value) } }
                }
                return points.isEmpty ? nil : .init(name: run.name, points: points, color: ReportHTML.color(index))
            }
            guard !series.isEmpty else { continue }
            charts += LineChart(id: "train-" + field.key, title: field.title, xLabel: "step", yLabel: field.key, series: series).html()
        }
        return charts.isEmpty ? "" : "<section id=\"training\"><h2>Training</h2>\n\(charts)</section>\n"
    }

    /// The best evaluation record of a run by its `metric_for_best_model` (the first of equals,
    /// as the trainer keeps it).
    static func best(_ run: RunArtifacts) -> (record: [String: Double], key: String)? {
        let (key, greater) = run.bestMetric
        var best: [String: Double]?
        for record in evaluationRecords(run) {
            guard let value = record[key], value.isFinite else { continue }
            if let current = best?[key], greater ? value <= current : value >= current { continue }
            best = record
        }
        return best.map { ($0, key) }
    }

    static func evaluation(_ runs: [RunArtifacts]) -> String {
        let bests = runs.map(best)
        let primary = bests.compactMap { $0?.key }.first
        let keys = Set(runs.flatMap { evaluationRecords($0).flatMap(\.keys) }).filter { $0.hasPrefix("eval_") }
            .sorted { a, b in a == primary ? true : b == primary ? false : a < b }
        var charts = ""
        for key in keys {
            var series: [LineChart.Series] = [], markers: [LineChart.Marker] = []
            for (index, run) in runs.enumerated() {
                let points = evaluationRecords(run).compactMap { record in
                    record[key].flatMap { value in record["step"].map { (x: $0, y: value) } }
                }
                guard !points.isEmpty else { continue }
                series.append(.init(name: run.name, points: points, color: ReportHTML.color(index)))
                if let (record, bestKey) = bests[index], let step = record["step"], let value = record[key] {
                    let label =
                        "\(runs.count > 1 ? run.name + ": " : "")best checkpoint, step \(ReportHTML.number(step)) "
                        + "(\(bestKey) \(ReportHTML.number(record[bestKey]!)))"
                    markers.append(.init(x: step, y: value, label: label, color: ReportHTML.color(index)))
                }
            }
            guard !series.isEmpty else { continue }
            charts += LineChart(id: "eval-" + key, title: key, xLabel: "step", yLabel: key, series: series, markers: markers).html()
        }
        return charts.isEmpty ? "" : "<section id=\"evaluation\"><h2>Evaluation</h2>\n\(charts)</section>\n"
    }
}

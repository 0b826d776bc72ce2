import Foundation

/// A federation's `rounds.jsonl` in the report: the global adapter's `eval_*` per round, the sites
/// sampled and reporting, the bytes each site sent and received (`bytes_sent`: site → coordinator,
/// `bytes_received`: coordinator → site), ε when privacy is on, and a table
/// of the rounds with the missing sites and why.
enum FederatedFigures {
    static func html(_ rounds: [[String: Any]], prefix: String) -> String {
        func number(_ record: [String: Any], _ key: String) -> Double? { record[key].flatMap(RunArtifacts.number) }
        func bytes(_ record: [String: Any], _ key: String) -> [String: Double] {
            (record[key] as? [String: Any] ?? [:]).compactMapValues(RunArtifacts.number)
        }
        let indexed = rounds.compactMap { record in number(record, "round").map { (round: $0, record: record) } }
        var charts = ""
        let evalKeys = Set(indexed.flatMap { $0.record.keys }).filter { $0.hasPrefix("eval_") }.sorted()
        for key in evalKeys {
            let points = indexed.compactMap { r in number(r.record, key).map { (x: r.round, y: $0) } }
            charts += LineChart(
                id: prefix + "federated-" + key, title: "Global adapter: \(key) per round", xLabel: "round", yLabel: key,
                series: [.init(name: key, points: points, color: ReportHTML.color(0))]
            ).html()
        }
        func count(_ key: String) -> [(x: Double, y: Double)] {
            indexed.map { (x: $0.round, y: Double(($0.record[key] as? [Any])?.count ?? 0)) }
        }
        charts += LineChart(
            id: prefix + "federated-sites", title: "Sites sampled and reporting per round", xLabel: "round", yLabel: "sites",
            series: [
                .init(name: "sampled", points: count("sampled"), color: ReportHTML.color(0)),
                .init(name: "reported", points: count("reported"), color: ReportHTML.color(1)),
            ]
        ).html()
        let sites = Set(indexed.flatMap { bytes($0.record, "bytes_sent").keys }).union(indexed.flatMap { bytes($0.record, "bytes_received").keys })
            .sorted()
        for (key, title) in [("bytes_sent", "Bytes each site sent per round"), ("bytes_received", "Bytes each site received per round")] {
            let series = sites.enumerated().map { index, site in
                LineChart.Series(
                    name: site, points: indexed.compactMap { r in bytes(r.record, key)[site].map { (x: r.round, y: $0) } },
                    color: ReportHTML.color(index))
            }.filter { !$0.points.isEmpty }
            guard !series.isEmpty else { continue }
            charts += LineChart(id: prefix + "federated-" + key, title: title, xLabel: "round", yLabel: "bytes", series: series).html()
        }
        let epsilon = indexed.compactMap { r in number(r.record, "epsilon").map { (x: r.round, y: $0) } }
        if !epsilon.isEmpty {
            charts += LineChart(
                id: prefix + "federated-epsilon", title: "Differential privacy: ε spent after each round", xLabel: "round", yLabel: "ε",
                series: [.init(name: "ε", points: epsilon, color: ReportHTML.color(2))]
            ).html()
        }
        let rows = indexed.map { r -> [String] in
            let missing = (r.record["missing"] as? [String: Any] ?? [:]).map { "\($0.key) (\($0.value))" }.sorted().joined(separator: ", ")
            return [
                ReportHTML.number(r.round), r.record["aggregation"].map { "\($0)" } ?? "",
                ((r.record["sampled"] as? [Any]) ?? []).map { "\($0)" }.joined(separator: " "),
                ((r.record["reported"] as? [Any]) ?? []).map { "\($0)" }.joined(separator: " "), missing,
                ReportHTML.number(bytes(r.record, "bytes_sent").values.reduce(0, +)),
                ReportHTML.number(bytes(r.record, "bytes_received").values.reduce(0, +)),
                number(r.record, "epsilon").map(ReportHTML.number) ?? "",
            ] + evalKeys.map { number(r.record, $0).map(ReportHTML.number) ?? "" }
        }
        return "<h3>Federated rounds</h3>\n" + charts
            + ReportHTML.table(
                ["round", "aggregation", "sampled", "reported", "missing", "bytes sent by sites", "bytes received by sites", "ε"] + evalKeys, rows,
                cssClass: "rounds", numericFrom: 5)
    }
}

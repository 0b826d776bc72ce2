import Foundation

/// The classification figures of a run: the confusion matrix as a heatmap (counts, and each row
/// normalised to the true class's share), the per-class precision/recall/F1/support table computed
/// from the same matrix, and the ROC curves one-vs-rest from the per-example probabilities.
enum ClassificationFigures {
    /// The confusion matrix `counts[true][predicted]` as a heatmap figure; `normalised` colours and
    /// labels each cell by its share of the row.
    static func heatmap(names: [String], counts: [[Int]], normalised: Bool, id: String) -> String {
        let n = names.count
        let cell = max(28.0, min(64.0, 420.0 / Double(max(n, 1))))
        let labelWidth = min(180.0, 12.0 + 7.0 * Double(names.map(\.count).max() ?? 4))
        let top = 26.0, left = labelWidth, width = left + cell * Double(n) + 10, height = top + cell * Double(n) + labelWidth * 0.6 + 24
        let c = ReportHTML.coordinate
        let title = normalised ? "Confusion matrix (row-normalised: share of each true class)" : "Confusion matrix (counts)"
        var svg =
            "<figure class=\"chart\" data-chart=\"\(ReportHTML.escape(id))\" style=\"width:\(Int(max(width, 320)))px\"><figcaption>\(title)</figcaption>"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(c(width)) \(c(height))\" role=\"img\">"
        let largest = Double(counts.joined().max() ?? 0)
        for (t, row) in counts.enumerated() {
            let total = Double(row.reduce(0, +))
            for (p, count) in row.enumerated() {
                let share = normalised ? (total > 0 ? Double(count) / total : 0) : (largest > 0 ? Double(count) / largest : 0)
                let shown = normalised ? String(format: "%.2f", total > 0 ? Double(count) / total : 0) : String(count)
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                let text = share > 0.55 ? "#fff" : "#222"
                svg += "<g class=\"cell\"><title>true \(ReportHTML.escape(names[t])), predicted \(ReportHTML.escape(names[p])): \(count)</title>"
                svg += "<rect x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(cell))\" height=\"\(c(cell))\" fill=\"\(Self.blue(share))\"/>"
                svg += "<text x=\"\(c(x + cell / 2))\" y=\"\(c(y + cell / 2 + 4))\" text-anchor=\"middle\" fill=\"\(text)\">\(shown)</text></g>"
            }
        }
        for (i, name) in names.enumerated() {
            let escaped = ReportHTML.escape(name)
            svg += "<text class=\"tick\" x=\"\(c(left - 4))\" y=\"\(c(top + (Double(i) + 0.5) * cell + 4))\" text-anchor=\"end\">\(escaped)</text>"
            let x = left + (Double(i) + 0.5) * cell, y = top + Double(n) * cell + 8
            svg += "<text class=\"tick\" transform=\"translate(\(c(x)) \(c(y))) rotate(35)\">\(escaped)</text>"
        }
        svg += "<text class=\"axis\" x=\"\(c(left + cell * Double(n) / 2))\" y=\"16\" text-anchor=\"middle\">predicted →</text>"
        svg += "<text class=\"axis\" x=\"4\" y=\"16\">true ↓</text>"
        return svg + "</svg></figure>\n"
    }

    /// White to dark blue as `share` goes from 0 to 1.
    static func blue(_ share: Double) -> String {
        let s = max(0, min(1, share))
        func mix(_ from: Double, _ to: Double) -> Int { Int((from + (to - from) * s).rounded()) }
        return String(format: "#%02x%02x%02x", mix(247, 8), mix(251, 48), mix(255, 107))
    }

    /// Precision, recall, F1 and support per class from `counts[true][predicted]` (scikit-learn's
    /// definitions, 0 where a denominator is 0), then the macro and weighted averages.
    static func perClassRows(names: [String], counts: [[Int]]) -> [[String]] {
        let n = names.count
        var rows: [[String]] = []
        var sums = [0.0, 0, 0], weighted = [0.0, 0, 0]
        var total = 0
        for k in 0..<n {
            let tp = Double(counts[k][k])
            let support = counts[k].reduce(0, +)
            let predicted = (0..<n).reduce(0) { $0 + counts[$1][k] }
            let precision = predicted > 0 ? tp / Double(predicted) : 0
            let recall = support > 0 ? tp / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            for (i, v) in [precision, recall, f1].enumerated() {
                sums[i] += v
                weighted[i] += v * Double(support)
            }
            total += support
            rows.append([names[k]] + [precision, recall, f1].map { String(format: "%.4f", $0) } + [String(support)])
        }
        if n > 0 {
            rows.append(["macro avg"] + sums.map { String(format: "%.4f", $0 / Double(n)) } + [String(total)])
            rows.append(["weighted avg"] + weighted.map { String(format: "%.4f", total > 0 ? $0 / Double(total) : 0) } + [String(total)])
        }
        return rows
    }

    /// The ROC curve of class `positive` against the rest: (false positive rate, true positive
    /// rate) at every distinct score, from (0, 0) to (1, 1), and its area (trapezoids). Nil when
    /// the class has no positive or no negative example.
    static func roc(_ examples: [RunArtifacts.ScoredExample], positive: String) -> (points: [(x: Double, y: Double)], auc: Double)? {
        let scored = examples.map { (score: $0.probabilities[positive] ?? 0, positive: $0.label == positive) }
            .sorted { $0.score > $1.score }
        let positives = Double(scored.filter(\.positive).count), negatives = Double(scored.count) - positives
        guard positives > 0, negatives > 0 else { return nil }
        var points: [(x: Double, y: Double)] = [(0, 0)]
        var tp = 0.0, fp = 0.0, area = 0.0
        var i = 0
        while i < scored.count {
            let score = scored[i].score
            while i < scored.count && scored[i].score == score {
                if scored[i].positive { tp += 1 } else { fp += 1 }
                i += 1
            }
            let point = (x: fp / negatives, y: tp / positives)
            area += (point.x - points.last!.x) * (point.y + points.last!.y) / 2
            points.append(point)
        }
        return (points, area)
    }

    /// The ROC chart: a curve per class (one-vs-rest) with its AUC in the legend.
    static func rocChart(names: [String], examples: [RunArtifacts.ScoredExample], id: String) -> String? {
        var series: [LineChart.Series] = []
        for (index, name) in names.enumerated() {
            guard let curve = roc(examples, positive: name) else { continue }
            series.append(.init(name: "\(name) (AUC \(String(format: "%.4f", curve.auc)))", points: curve.points, color: ReportHTML.color(index)))
        }
        guard !series.isEmpty else { return nil }
        return LineChart(
            id: id, title: "ROC curves, one class against the rest (\(examples.count) examples)", xLabel: "false positive rate",
            yLabel: "true positive rate", series: series, xDomain: 0...1, yDomain: 0...1, diagonal: true
        ).html()
    }
}

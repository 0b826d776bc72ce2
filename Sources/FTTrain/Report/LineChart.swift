import Foundation

/// A line chart as inline SVG: one polyline per series over shared linear axes with "nice" ticks,
/// a legend, and optional markers (the best checkpoint) with their text as a tooltip.
struct LineChart {
    struct Series {
        var name: String
        /// (x, y) in data units; non-finite values are skipped.
        var points: [(x: Double, y: Double)]
        var color: String
    }

    /// A point drawn as a ring with a label (`<title>`, shown on hover, and in the legend line).
    struct Marker {
        var x: Double
        var y: Double
        var label: String
        var color: String
    }

    /// `data-chart` of the figure: what the chart shows (tests and the check script count these).
    var id: String
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var markers: [Marker] = []
    /// Fixed axis ranges (ROC: [0, 1]); nil: the data's range.
    var xDomain: ClosedRange<Double>?
    var yDomain: ClosedRange<Double>?
    /// Draws the y = x line (ROC's chance line).
    var diagonal = false

    static let width = 560.0, height = 280.0
    static let left = 64.0, right = 16.0, top = 14.0, bottom = 42.0

    /// The chart as a `<figure class="chart">` holding one `<svg>`.
    func html() -> String {
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = finite.map(\.x), ys = finite.map(\.y)
        let xRange = Self.ticks(xDomain ?? (xs.min() ?? 0)...(xs.max() ?? 1))
        let yRange = Self.ticks(yDomain ?? (ys.min() ?? 0)...(ys.max() ?? 1))
        let plotWidth = Self.width - Self.left - Self.right, plotHeight = Self.height - Self.top - Self.bottom
        func px(_ x: Double) -> Double { Self.left + (x - xRange.lower) / (xRange.upper - xRange.lower) * plotWidth }
        func py(_ y: Double) -> Double { Self.top + plotHeight - (y - yRange.lower) / (yRange.upper - yRange.lower) * plotHeight }
        let c = ReportHTML.coordinate

        var svg = "<figure class=\"chart\" data-chart=\"\(ReportHTML.escape(id))\"><figcaption>\(ReportHTML.escape(title))</figcaption>"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\">"
        // Grid and tick labels.
        for x in xRange.ticks {
            svg += "<line class=\"grid\" x1=\"\(c(px(x)))\" y1=\"\(c(Self.top))\" x2=\"\(c(px(x)))\" y2=\"\(c(Self.top + plotHeight))\"/>"
            svg +=
                "<text class=\"tick\" x=\"\(c(px(x)))\" y=\"\(c(Self.top + plotHeight + 14))\" text-anchor=\"middle\">\(ReportHTML.number(x))</text>"
        }
        for y in yRange.ticks {
            svg += "<line class=\"grid\" x1=\"\(c(Self.left))\" y1=\"\(c(py(y)))\" x2=\"\(c(Self.left + plotWidth))\" y2=\"\(c(py(y)))\"/>"
            svg += "<text class=\"tick\" x=\"\(c(Self.left - 4))\" y=\"\(c(py(y) + 4))\" text-anchor=\"end\">\(ReportHTML.number(y))</text>"
        }
        svg += "<rect class=\"frame\" x=\"\(c(Self.left))\" y=\"\(c(Self.top))\" width=\"\(c(plotWidth))\" height=\"\(c(plotHeight))\"/>"
        svg +=
            "<text class=\"axis\" x=\"\(c(Self.left + plotWidth / 2))\" y=\"\(c(Self.height - 6))\" text-anchor=\"middle\">\(ReportHTML.escape(xLabel))</text>"
        svg +=
            "<text class=\"axis\" transform=\"translate(14 \(c(Self.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(ReportHTML.escape(yLabel))</text>"
        if diagonal {
            svg += "<line class=\"chance\" x1=\"\(c(px(0)))\" y1=\"\(c(py(0)))\" x2=\"\(c(px(1)))\" y2=\"\(c(py(1)))\"/>"
        }
        // Series: a polyline, and dots when there are few points (evaluations).
        for s in series {
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            guard !points.isEmpty else { continue }
            let color = ReportHTML.escape(s.color)
            svg += "<g class=\"series\" data-series=\"\(ReportHTML.escape(s.name))\"><title>\(ReportHTML.escape(s.name))</title>"
            if points.count > 1 {
                let list = points.map { "\(c(px($0.x))),\(c(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" points=\"\(list)\"/>"
            }
            if points.count <= 60 {
                for p in points { svg += "<circle cx=\"\(c(px(p.x)))\" cy=\"\(c(py(p.y)))\" r=\"2.5\" fill=\"\(color)\"/>" }
            }
            svg += "</g>"
        }
        for m in markers where m.x.isFinite && m.y.isFinite {
            svg +=
                "<g class=\"marker\"><title>\(ReportHTML.escape(m.label))</title><circle cx=\"\(c(px(m.x)))\" cy=\"\(c(py(m.y)))\" r=\"6\" fill=\"none\" stroke=\"\(ReportHTML.escape(m.color))\" stroke-width=\"2\"/></g>"
        }
        svg += "</svg>"
        // Legend (HTML, so long names wrap): the series, then the markers.
        let entries =
            series.map { "<span><i style=\"background:\(ReportHTML.escape($0.color))\"></i>\(ReportHTML.escape($0.name))</span>" }
            + markers.map { "<span><b style=\"border-color:\(ReportHTML.escape($0.color))\"></b>\(ReportHTML.escape($0.label))</span>" }
        if entries.count > 1 || !markers.isEmpty { svg += "<div class=\"legend\">\(entries.joined())</div>" }
        return svg + "</figure>\n"
    }

    /// Axis range widened to "nice" tick values (1, 2, 5 × 10ⁿ), about five ticks.
    static func ticks(_ range: ClosedRange<Double>) -> (lower: Double, upper: Double, ticks: [Double]) {
        var low = range.lowerBound, high = range.upperBound
        if high - low < 1e-12 * max(abs(low), 1) {
            let pad = abs(low) > 0 ? abs(low) * 0.1 : 1
            (low, high) = (low - pad, high + pad)
        }
        let rough = (high - low) / 5
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        let lower = floor(low / step) * step, upper = ceil(high / step) * step
        var ticks: [Double] = []
        var t = lower
        while t <= upper + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return (lower, upper, ticks)
    }
}

import Foundation

/// The HTML pieces the report is written with: escaping of every text that comes from a run's
/// files (labels, example texts, settings, lineage), number formatting, and the colours.
enum ReportHTML {
    /// `text` safe in element content and in a double- or single-quoted attribute value.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A number as a table or axis shows it: four significant digits, integers as integers,
    /// NaN as an en dash.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "–" : (value > 0 ? "∞" : "-∞") }
        if value == value.rounded(), abs(value) < 1e7 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }

    /// A coordinate in an SVG attribute: two decimals.
    static func coordinate(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Series colours (Tableau 10), by index.
    static func color(_ index: Int) -> String {
        let palette = [
            "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
        ]
        return palette[index % palette.count]
    }

    /// A `<table>` of `header` and `rows`, every cell escaped; `numeric` columns right-aligned.
    static func table(_ header: [String], _ rows: [[String]], cssClass: String, numericFrom: Int = 1) -> String {
        var html = "<table class=\"\(cssClass)\"><thead><tr>"
        html += header.map { "<th>\(escape($0))</th>" }.joined()
        html += "</tr></thead><tbody>"
        for row in rows {
            html += "<tr>"
            for (index, cell) in row.enumerated() {
                html += index >= numericFrom ? "<td class=\"num\">\(escape(cell))</td>" : "<td>\(escape(cell))</td>"
            }
            html += "</tr>"
        }
        return html + "</tbody></table>\n"
    }
}

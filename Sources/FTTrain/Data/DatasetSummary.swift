/// Examples per label per split, for the run log.
public struct DatasetSummary: Sendable, Equatable, CustomStringConvertible {
    /// Labels in id order.
    public let labels: [String]
    /// Split names in the order given, e.g. `train`, `validation`, `test`.
    public let splitNames: [String]
    /// `counts[split][labelId]`.
    public let counts: [[Int]]

    /// Counts the examples of each named split by class id.
    public init(labelSet: LabelSet, splits: [(name: String, examples: [EncodedExample])]) {
        labels = labelSet.labels
        splitNames = splits.map(\.name)
        counts = splits.map { labelSet.counts($0.examples) }
    }

    /// Examples of `label` in `split`, or nil if either is unknown.
    public func count(split: String, label: String) -> Int? {
        guard let s = splitNames.firstIndex(of: split), let l = labels.firstIndex(of: label) else { return nil }
        return counts[s][l]
    }

    /// Examples in `split`.
    public func total(split: String) -> Int? {
        splitNames.firstIndex(of: split).map { counts[$0].reduce(0, +) }
    }

    /// A table with one row per label and a total row; the last column is the label's share of all
    /// examples, which shows the imbalance at a glance:
    /// ```
    /// label   train  validation  test  total
    /// fresh    5922         740   741   7403  53.2%
    /// ```
    public var description: String {
        let header = ["label"] + splitNames + ["total", ""]
        let grand = counts.joined().reduce(0, +)
        var rows: [[String]] = labels.indices.map { l in
            let perSplit = counts.map { $0[l] }
            let total = perSplit.reduce(0, +)
            let share = grand > 0 ? Double(total) / Double(grand) * 100 : 0
            let percent = (share * 10).rounded() / 10
            return [labels[l]] + perSplit.map(String.init) + [String(total), "\(percent)%"]
        }
        rows.append(["total"] + counts.map { String($0.reduce(0, +)) } + [String(grand), ""])
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].unicodeScalars.count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - row[c].unicodeScalars.count)
                return c == 0 ? row[c] + pad : pad + row[c]  // labels left, numbers right
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

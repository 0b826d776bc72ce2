import Foundation

/// Agreement between annotators who labelled the same items: the statistics of
/// ``AgreementStatistics`` overall, per label (one-vs-rest) and per pair of annotators, and each
/// item's majority label.
public struct AgreementReport: Sendable {
    /// Agreement of one pair of annotators over the items both rated.
    public struct Pair: Sendable {
        public var first: String
        public var second: String
        public var items: Int
        public var cohenKappa: Double
        /// Cohen's kappa with the requested weights (nil when no weights were asked for).
        public var weightedKappa: Double?
        /// `confusion[i][j]`: items `first` labelled `labels[i]` and `second` labelled `labels[j]`.
        public var confusion: [[Int]]
    }

    /// Agreement on one label against all the others (ratings made binary: this label or not).
    public struct Label: Sendable {
        public var label: String
        public var fleissKappa: Double
        public var krippendorffAlpha: Double
        /// With exactly two annotators, their binary Cohen's kappa.
        public var cohenKappa: Double?
    }

    /// The labels in the order the weights use: numeric order when every label is a number, else
    /// by Unicode code points.
    public var labels: [String]
    public var annotators: [String]
    public var items: Int
    /// Items every annotator rated: Fleiss' kappa is computed over these only.
    public var completeItems: Int
    public var weights: AgreementStatistics.Weights
    public var fleissKappa: Double
    public var krippendorffAlpha: Double
    public var pairs: [Pair]
    public var perLabel: [Label]
    /// Each item's most frequent label, nil on a tie (or no rating): those need adjudication.
    public var majority: [String?]

    public var adjudications: Int { majority.filter { $0 == nil }.count }
}

public enum AnnotatorAgreement {
    /// Measures agreement on `ratings[item][annotator]` (nil or empty = not rated).
    public static func measure(
        ratings raw: [[String?]], annotators: [String], weights: AgreementStatistics.Weights = .none
    ) throws -> AgreementReport {
        guard annotators.count >= 2 else { throw DataToolError.invalidArgument("agreement needs at least two annotators, got \(annotators.count)") }
        let ratings = raw.map { row in
            row.map {
                $0.flatMap { v -> String? in
                    let t = v.trimmingCharacters(in: .whitespaces)
                    return t.isEmpty ? nil : t
                }
            }
        }
        let labels = sortedLabels(Set(ratings.joined().compactMap { $0 }))
        guard !labels.isEmpty else { throw DataToolError.invalidArgument("no ratings: every annotator cell is empty") }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let coded: [[Int?]] = ratings.map { $0.map { $0.map { index[$0]! } } }
        let k = labels.count
        let complete = coded.filter { $0.allSatisfy { $0 != nil } }

        func counts(_ items: [[Int?]], _ k: Int) -> [[Int]] {
            items.map { row in
                var c = [Int](repeating: 0, count: k)
                for v in row { if let v { c[v] += 1 } }
                return c
            }
        }
        var pairs: [AgreementReport.Pair] = []
        for i in 0..<annotators.count {
            for j in (i + 1)..<annotators.count {
                let a = coded.map { $0[i] }, b = coded.map { $0[j] }
                let confusion = AgreementStatistics.confusion(a, b, categories: k)
                pairs.append(
                    AgreementReport.Pair(
                        first: annotators[i], second: annotators[j], items: confusion.joined().reduce(0, +),
                        cohenKappa: AgreementStatistics.cohenKappa(a, b, categories: k),
                        weightedKappa: weights == .none ? nil : AgreementStatistics.cohenKappa(a, b, categories: k, weights: weights),
                        confusion: confusion))
            }
        }
        var perLabel: [AgreementReport.Label] = []
        for (c, label) in labels.enumerated() {
            let binary: [[Int?]] = coded.map { $0.map { $0.map { $0 == c ? 1 : 0 } } }
            let binaryComplete = binary.filter { $0.allSatisfy { $0 != nil } }
            perLabel.append(
                AgreementReport.Label(
                    label: label, fleissKappa: AgreementStatistics.fleissKappa(counts: counts(binaryComplete, 2)),
                    krippendorffAlpha: AgreementStatistics.krippendorffAlphaNominal(binary, categories: 2),
                    cohenKappa: annotators.count == 2
                        ? AgreementStatistics.cohenKappa(binary.map { $0[0] }, binary.map { $0[1] }, categories: 2) : nil
                ))
        }
        let majority: [String?] = counts(coded, k).map { c in
            guard let top = c.max(), top > 0, c.filter({ $0 == top }).count == 1 else { return nil }
            return labels[c.firstIndex(of: top)!]
        }
        return AgreementReport(
            labels: labels, annotators: annotators, items: coded.count, completeItems: complete.count, weights: weights,
            fleissKappa: AgreementStatistics.fleissKappa(counts: counts(complete, k)),
            krippendorffAlpha: AgreementStatistics.krippendorffAlphaNominal(coded, categories: k),
            pairs: pairs, perLabel: perLabel, majority: majority)
    }

    /// Numeric order when every label is a number (so ordinal weights mean something), else code-point order.
    static func sortedLabels(_ labels: Set<String>) -> [String] {
        let numbers = labels.map { Double($0) }
        if numbers.allSatisfy({ $0 != nil }) {
            return labels.sorted { Double($0)! != Double($1)! ? Double($0)! < Double($1)! : $0 < $1 }
        }
        return labels.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// Reads the annotator columns of a CSV/TSV/JSONL file and measures their agreement.
    public static func measure(
        table: DataTable, annotators: [String], weights: AgreementStatistics.Weights = .none
    ) throws -> AgreementReport {
        let columns = try annotators.map { try table.columnIndex($0) }
        return try measure(ratings: table.rows.map { row in columns.map { row.value(at: $0) } }, annotators: annotators, weights: weights)
    }

    /// Writes `table` in its own format with two more columns: `majority` (empty on a tie) and
    /// `adjudicate` (true where the majority is empty). Atomic (temporary file renamed into place).
    public static func writeWithMajority(_ table: DataTable, report: AgreementReport, to path: String) throws {
        var text = ""
        switch table.format {
        case .jsonl:
            for (row, label) in zip(table.rows, report.majority) {
                var raw = row.raw.trimmingCharacters(in: .whitespacesAndNewlines)
                guard raw.hasSuffix("}") else { throw DataToolError.invalidRow(path: table.path, line: row.line, reason: "not a JSON object") }
                raw.removeLast()
                let empty = raw.trimmingCharacters(in: .whitespaces) == "{"
                let value = String(decoding: JSONMemberScanner.encodeString(label ?? ""), as: UTF8.self)
                text += raw + (empty ? "" : ", ") + "\"majority\": \(value), \"adjudicate\": \(label == nil)}\n"
            }
        case .csv, .tsv:
            let extended = DataTable(
                path: table.path, format: table.format, header: table.header + ["majority", "adjudicate"],
                rows: zip(table.rows, report.majority).map { row, label in
                    DataTable.Row(
                        line: row.line, fields: row.fields + [label ?? "", label == nil ? "true" : "false"], scalars: [:], raw: "",
                        columns: row.columns + 2)
                })
            text = extended.serialized(extended.rows)
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

import FTCore
import Foundation

/// What `fttrain data augment` wrote.
public struct AugmentationReport: Sendable, Equatable {
    public var rows = 0
    public var added = 0
    public var byOperation: [TextAugmentation.Operation: Int] = [:]

    public var summary: String {
        let ops = TextAugmentation.Operation.allCases.compactMap { op in byOperation[op].map { "\($0) \(op.rawValue)" } }
        return "\(rows) rows read, \(added) augmented rows added (\(ops.joined(separator: ", ")))"
    }
}

/// Augments the text column of a CSV, TSV or JSON Lines file: each row is written followed by its
/// augmented copies, every other column (the label included) copied unchanged. Row r draws from
/// `SeededRNG(seed: seed, stream: r)`, so a row's copies do not depend on the rows before it.
public enum AugmentedFile {
    public static func augment(
        input: String, output: String, textColumn: String, copies: Int, augmentation: TextAugmentation, seed: UInt64
    ) throws -> AugmentationReport {
        guard copies >= 1 else { throw DataToolError.invalidArgument("the number of augmented copies per row must be at least 1, got \(copies)") }
        guard !augmentation.enabled.isEmpty else { throw DataToolError.invalidArgument("every operation rate is 0: nothing to augment") }
        let table = try DataTable.read(input)
        let column = try table.columnIndex(textColumn)
        var report = AugmentationReport()
        var rows: [DataTable.Row] = []
        for (r, row) in table.rows.enumerated() {
            report.rows += 1
            rows.append(row)
            guard let text = row.value(at: column), !text.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            var rng = SeededRNG(seed: seed, stream: UInt64(r))
            for (op, new) in augmentation.augment(text, count: copies, using: &rng) {
                rows.append(try replacing(row, column: column, key: textColumn, with: new, path: input))
                report.added += 1
                report.byOperation[op, default: 0] += 1
            }
        }
        try Data(table.serialized(rows).utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        return report
    }

    /// `row` with its text replaced: the field for CSV/TSV, the member's value in the raw line for JSONL.
    static func replacing(_ row: DataTable.Row, column: Int, key: String, with text: String, path: String) throws -> DataTable.Row {
        guard !row.raw.isEmpty else {
            var fields = row.fields
            fields[column] = text
            return DataTable.Row(line: row.line, fields: fields, scalars: [:], raw: "", columns: row.columns)
        }
        let bytes = Array(row.raw.utf8)
        let members = bytes.withUnsafeBufferPointer { JSONMemberScanner.members(of: $0) }
        var target: Range<Int>?
        for member in members {
            let decoded = bytes.withUnsafeBufferPointer { try? StrictJSON.parse(UnsafeBufferPointer(rebasing: $0[member.key])) }
            if case .string(let name)? = decoded, name == key { target = member.value }
        }
        guard let target else { throw DataToolError.invalidRow(path: path, line: row.line, reason: "no \"\(key)\" key") }
        let raw = bytes[..<target.lowerBound] + JSONMemberScanner.encodeString(text) + bytes[target.upperBound...]
        var scalars = row.scalars
        scalars[column] = text
        return DataTable.Row(line: row.line, fields: [], scalars: scalars, raw: String(decoding: raw, as: UTF8.self), columns: row.columns)
    }
}

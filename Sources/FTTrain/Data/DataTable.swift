import FTCore
import Foundation

/// A data file's rows with every column, for tools that rearrange rows without interpreting them
/// (`fttrain partition`): CSV/TSV rows as their fields, JSON Lines rows as their original line
/// plus the top-level scalar values. Written back in the same format, so a row's other columns
/// survive untouched.
public struct DataTable: Sendable {
    public struct Row: Sendable {
        /// 1-based line of the row's start in the file.
        public let line: Int
        /// CSV/TSV: one value per header column.
        let fields: [String]
        /// JSON Lines: the scalar values (string, number literal or boolean) of the keys the row
        /// has, by header index. Kept sparse: a file whose rows each bring new keys would
        /// otherwise hold rows × keys values.
        let scalars: [Int: String]
        /// JSON Lines: the row's line as read (written back verbatim). Empty for CSV/TSV.
        public let raw: String
        /// The header's width when the row was read.
        let columns: Int

        /// Every header column's value (`value(at:)` of each), made on demand.
        public var values: [String?] { (0..<columns).map(value(at:)) }

        /// The value of header column `column`: nil where a JSON Lines row lacks the key or holds
        /// a structure there.
        public func value(at column: Int) -> String? {
            raw.isEmpty ? (fields.indices.contains(column) ? fields[column] : nil) : scalars[column]
        }
    }

    public let path: String
    public let format: DataFormat
    /// CSV/TSV: the header row. JSON Lines: every key seen, in first-seen order.
    public let header: [String]
    public let rows: [Row]

    /// Reads every row of a CSV, TSV or JSON Lines file (format from the extension unless given).
    /// - Throws: `DataError` for a missing, empty, non-UTF-8 or malformed file, naming the line.
    public static func read(_ path: String, format: DataFormat? = nil) throws -> DataTable {
        let contents = try DataReader.fileContents(path)
        let format = try DataReader.resolvedFormat(path: path, options: DataReadOptions(format: format))
        return try contents.withUnsafeBufferPointer { bytes in
            let start = ByteScanning.bomLength(bytes)
            if ByteScanning.isBlank(bytes, from: start, to: bytes.count) { throw DataError.emptyFile(path: path) }
            if let bad = ByteScanning.firstInvalidUTF8(bytes) {
                throw DataError.invalidUTF8(path: path, line: ByteScanning.line(ofOffset: bad, in: bytes))
            }
            switch format {
            case .csv: return try readDelimited(bytes, delimiter: UInt8(ascii: ","), path: path, format: format)
            case .tsv: return try readDelimited(bytes, delimiter: 0x09, path: path, format: format)
            case .jsonl: return try readJSONLines(bytes, from: start, path: path)
            }
        }
    }

    /// The index of `column`, or an error listing the columns there are.
    public func columnIndex(_ column: String) throws -> Int {
        guard let index = header.firstIndex(of: column) else {
            throw DataError.missingColumns(path: path, missing: [column], available: header)
        }
        return index
    }

    /// The file text of `rows` (a subset of this table's, in the given order) in this table's
    /// format: the header first for CSV/TSV, fields quoted where RFC 4180 needs it.
    public func serialized(_ rows: [Row]) -> String {
        switch format {
        case .jsonl:
            return rows.map { $0.raw + "\n" }.joined()
        case .csv, .tsv:
            let delimiter: Character = format == .csv ? "," : "\t"
            func field(_ value: String) -> String {
                guard value.contains(where: { $0 == delimiter || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
                return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            var text = header.map(field).joined(separator: String(delimiter)) + "\n"
            for row in rows { text += row.fields.map(field).joined(separator: String(delimiter)) + "\n" }
            return text
        }
    }

    private static func readDelimited(
        _ bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, path: String,
        format: DataFormat
    ) throws -> DataTable {
        var parser = DelimitedParser(bytes: bytes, delimiter: delimiter, path: path)
        var fields: [FieldSpan] = []
        guard try parser.nextRecord(into: &fields) != nil else { throw DataError.emptyFile(path: path) }
        let header = fields.map { ExampleBuilder.trimmed(parser.string($0)) }
        var rows: [Row] = [], bad: [BadRow] = []
        while let line = try parser.nextRecord(into: &fields) {
            guard fields.count == header.count else {
                bad.append(
                    BadRow(
                        location: SourceLocation(file: path, line: line),
                        reason: "expected \(header.count) fields (as in the header), found \(fields.count)"))
                continue
            }
            rows.append(Row(line: line, fields: fields.map { parser.string($0) }, scalars: [:], raw: "", columns: header.count))
        }
        if !bad.isEmpty { throw DataError.badRows(bad) }
        if rows.isEmpty { throw DataError.noDataRows(path: path, skipped: 0) }
        return DataTable(path: path, format: format, header: header, rows: rows)
    }

    private static func readJSONLines(_ bytes: UnsafeBufferPointer<UInt8>, from first: Int, path: String) throws -> DataTable {
        var parsed: [(line: Int, object: JSONObject, raw: String)] = []
        var keys: [String] = [], index: [String: Int] = [:], bad: [BadRow] = []
        JSONLines.forEachLine(in: bytes, from: first) { record in
            let line = record.number
            let value: StrictJSON.Value
            do throws(JSONLineError) {
                value = try record.parse()
            } catch {
                bad.append(BadRow(location: SourceLocation(file: path, line: line), reason: error.reason))
                return
            }
            guard case .object(let members) = value else {
                bad.append(BadRow(location: SourceLocation(file: path, line: line), reason: "expected a JSON object"))
                return
            }
            let object = JSONObject(members)
            for key in object.keys where index[key] == nil {
                index[key] = keys.count
                keys.append(key)
            }
            parsed.append((line, object, String(decoding: record.bytes, as: UTF8.self)))
        }
        if !bad.isEmpty { throw DataError.badRows(bad) }
        if parsed.isEmpty { throw DataError.noDataRows(path: path, skipped: 0) }
        let rows = parsed.map { row in
            var scalars: [Int: String] = [:]
            for (key, value) in row.object.values {
                switch value {
                case .string(let text): scalars[index[key]!] = text
                case .number(let literal): scalars[index[key]!] = literal
                case .bool(let flag): scalars[index[key]!] = flag ? "true" : "false"
                default: break
                }
            }
            return Row(line: row.line, fields: [], scalars: scalars, raw: row.raw, columns: keys.count)
        }
        return DataTable(path: path, format: .jsonl, header: keys, rows: rows)
    }
}

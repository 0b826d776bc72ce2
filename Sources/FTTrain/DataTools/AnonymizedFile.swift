import FTCore
import Foundation

/// What `fttrain data anonymize` replaced: counts per identifier kind per column.
public struct AnonymizationReport: Sendable, Equatable {
    public var input: String
    public var output: String
    public var rows = 0
    /// Rows in which at least one identifier was replaced.
    public var rowsChanged = 0
    /// Column → kind → number replaced, for each column asked for (zeros included).
    public var counts: [String: [IdentifierKind: Int]] = [:]

    public func count(_ column: String, _ kind: IdentifierKind) -> Int { counts[column]?[kind] ?? 0 }

    /// The report as JSON: `{"input", "output", "rows", "rows_changed", "columns": {column: {KIND: n}}}`.
    public func json() throws -> Data {
        var columns: [String: [String: Int]] = [:]
        for (column, byKind) in counts {
            columns[column] = Dictionary(uniqueKeysWithValues: IdentifierKind.allCases.map { ($0.rawValue, byKind[$0] ?? 0) })
        }
        let object: [String: Any] = ["input": input, "output": output, "rows": rows, "rows_changed": rowsChanged, "columns": columns]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// One line per column: `text: 12 PHONE, 3 EMAIL, ...` (kinds with none left out).
    public var summary: String {
        var lines = ["\(rows) rows, \(rowsChanged) changed"]
        for column in counts.keys.sorted() {
            let parts = IdentifierKind.allCases.compactMap { kind in count(column, kind) > 0 ? "\(count(column, kind)) \(kind.rawValue)" : nil }
            lines.append("  \(column): \(parts.isEmpty ? "nothing replaced" : parts.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}

/// Anonymises chosen columns of a CSV, TSV or JSON Lines file and writes the result in the same
/// format. Only the fields that change are re-encoded (a changed CSV field keeps its quoting, or is
/// quoted when the new text needs it; a changed JSON string is written with minimal escaping); every
/// other byte — header, other columns, quoting, line endings, byte-order mark — is copied as it was.
public enum AnonymizedFile {
    /// Reads `input`, anonymises `columns` with `anonymizer`, and writes `output` atomically (a
    /// temporary file renamed into place, so a failed run leaves no half-written output).
    public static func anonymize(
        input: String, output: String, format: DataFormat? = nil, columns: [String], anonymizer: Anonymizer
    ) throws -> AnonymizationReport {
        guard let fmt = format ?? DataFormat.inferred(fromPath: input) else {
            throw DataError.unknownFormat(path: input, fileExtension: DataFormat.fileExtension(of: input))
        }
        guard FileManager.default.fileExists(atPath: input) else { throw DataError.fileNotFound(path: input) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: input)) } catch {
            throw DataError.unreadable(path: input, reason: error.localizedDescription)
        }
        var report = AnonymizationReport(input: input, output: output)
        for column in columns { report.counts[column] = [:] }
        let out: [UInt8] = try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            if let bad = ByteScanning.firstInvalidUTF8(bytes) {
                throw DataError.invalidUTF8(path: input, line: ByteScanning.line(ofOffset: bad, in: bytes))
            }
            switch fmt {
            case .csv, .tsv:
                return try rewriteDelimited(
                    bytes, delimiter: fmt == .csv ? UInt8(ascii: ",") : 0x09, path: input, columns: columns, anonymizer: anonymizer,
                    report: &report)
            case .jsonl:
                return try rewriteJSONLines(bytes, path: input, columns: columns, anonymizer: anonymizer, report: &report)
            }
        }
        try Data(out).write(to: URL(fileURLWithPath: output), options: .atomic)
        return report
    }

    private static func record(_ counts: [IdentifierKind: Int], column: String, into report: inout AnonymizationReport) {
        for (kind, n) in counts { report.counts[column, default: [:]][kind, default: 0] += n }
    }

    static func rewriteDelimited(
        _ bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, path: String, columns: [String], anonymizer: Anonymizer,
        report: inout AnonymizationReport
    ) throws -> [UInt8] {
        var parser = DelimitedParser(bytes: bytes, delimiter: delimiter, path: path)
        var fields: [FieldSpan] = []
        guard try parser.nextRecord(into: &fields) != nil else { throw DataError.emptyFile(path: path) }
        let header = fields.map { parser.string($0) }
        var targets: [(index: Int, name: String)] = []
        let missing = columns.filter { !header.contains($0) }
        guard missing.isEmpty else { throw DataError.missingColumns(path: path, missing: missing, available: header) }
        for column in columns {
            guard header.filter({ $0 == column }).count == 1 else { throw DataError.duplicateColumn(path: path, name: column) }
            targets.append((header.firstIndex(of: column)!, column))
        }
        targets.sort { $0.index < $1.index }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var cursor = 0
        while try parser.nextRecord(into: &fields) != nil {
            report.rows += 1
            var changed = false
            for target in targets where target.index < fields.count {
                let field = fields[target.index]
                let text = parser.string(field)
                let (new, counts) = anonymizer.anonymize(text)
                guard new != text else { continue }
                record(counts, column: target.name, into: &report)
                changed = true
                out.append(contentsOf: bytes[cursor..<field.start])
                out.append(contentsOf: encodeDelimited(new, delimiter: delimiter, quoted: field.quoted))
                cursor = field.end
            }
            if changed { report.rowsChanged += 1 }
        }
        out.append(contentsOf: bytes[cursor...])
        return out
    }

    /// A field's bytes: quoted (with `""` for `"`) when it was quoted or the text needs it.
    static func encodeDelimited(_ text: String, delimiter: UInt8, quoted: Bool) -> [UInt8] {
        let utf8 = Array(text.utf8)
        let needs = utf8.contains { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard quoted || needs else { return utf8 }
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in utf8 {
            out.append(b)
            if b == UInt8(ascii: "\"") { out.append(b) }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    static func rewriteJSONLines(
        _ bytes: UnsafeBufferPointer<UInt8>, path: String, columns: [String], anonymizer: Anonymizer,
        report: inout AnonymizationReport
    ) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var cursor = 0
        let wanted = Set(columns)
        var seen = Set<String>()
        try JSONLines.forEachLine(in: bytes, from: ByteScanning.bomLength(bytes)) { line in
            let value: StrictJSON.Value
            do { value = try line.parse() } catch let error as JSONLineError {
                throw DataToolError.invalidJSONLine(path: path, line: line.number, reason: error.reason)
            }
            guard case .object = value else {
                throw DataToolError.invalidJSONLine(path: path, line: line.number, reason: "the line is \(value.typeName)")
            }
            report.rows += 1
            let base = line.bytes.baseAddress.map { $0 - bytes.baseAddress! } ?? 0
            var changed = false
            for member in JSONMemberScanner.members(of: line.bytes) {
                guard case .string(let key)? = try? StrictJSON.parse(UnsafeBufferPointer(rebasing: line.bytes[member.key])),
                    wanted.contains(key)
                else { continue }
                seen.insert(key)
                guard case .string(let text)? = try? StrictJSON.parse(UnsafeBufferPointer(rebasing: line.bytes[member.value])) else {
                    continue  // a number, null, ... holds no text to anonymise
                }
                let (new, counts) = anonymizer.anonymize(text)
                guard new != text else { continue }
                record(counts, column: key, into: &report)
                changed = true
                out.append(contentsOf: bytes[cursor..<(base + member.value.lowerBound)])
                out.append(contentsOf: JSONMemberScanner.encodeString(new))
                cursor = base + member.value.upperBound
            }
            if changed { report.rowsChanged += 1 }
        }
        guard report.rows > 0 else { throw DataError.emptyFile(path: path) }
        let missing = columns.filter { !seen.contains($0) }
        if !missing.isEmpty { throw DataError.missingColumns(path: path, missing: missing, available: []) }
        out.append(contentsOf: bytes[cursor...])
        return out
    }
}

/// The byte ranges of the top-level members of a JSON object line (already validated by
/// `StrictJSON`), so one value can be replaced without re-serialising the rest.
enum JSONMemberScanner {
    struct Member {
        var key: Range<Int>
        var value: Range<Int>
    }

    static func members(of b: UnsafeBufferPointer<UInt8>) -> [Member] {
        var i = 0
        let n = b.count
        func skipSpace() { while i < n, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }
        func skipString() {
            i += 1
            while i < n, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
        }
        func skipValue() {
            if b[i] == UInt8(ascii: "\"") { return skipString() }
            var depth = 0
            while i < n {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    skipString()
                    continue
                }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    if depth == 0 { return }
                    depth -= 1
                    i += 1
                    if depth == 0 { return }
                    continue
                }
                if depth == 0 && (c == UInt8(ascii: ",") || c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A) { return }
                i += 1
            }
        }
        var members: [Member] = []
        skipSpace()
        guard i < n, b[i] == UInt8(ascii: "{") else { return [] }
        i += 1
        while true {
            skipSpace()
            guard i < n, b[i] == UInt8(ascii: "\"") else { return members }
            let keyStart = i
            skipString()
            let key = keyStart..<i
            skipSpace()
            guard i < n, b[i] == UInt8(ascii: ":") else { return members }
            i += 1
            skipSpace()
            guard i < n else { return members }
            let valueStart = i
            skipValue()
            members.append(Member(key: key, value: valueStart..<i))
            skipSpace()
            guard i < n, b[i] == UInt8(ascii: ",") else { return members }
            i += 1
        }
    }

    /// `text` as a JSON string literal: `"` and `\` escaped, control characters as `\n`, `\t`,
    /// `\u00XX`; everything else (non-ASCII included) as UTF-8.
    static func encodeString(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }
}

/// Why a data file, split or class-imbalance setting was rejected. Every message names the file and,
/// where it helps, the line and column, and says what would fix it.
public enum DataError: Error, Sendable, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    /// The path exists but could not be read as a file (a directory, no permission, ...).
    case unreadable(path: String, reason: String)
    /// Zero bytes, or nothing but a byte-order mark and whitespace.
    case emptyFile(path: String)
    /// `--format` was not given and the extension does not say.
    case unknownFormat(path: String, fileExtension: String)
    /// Configured columns (or JSON keys) that the header does not have; `available` lists what it has.
    case missingColumns(path: String, missing: [String], available: [String])
    /// A configured column appears more than once in the header, so which one to read is ambiguous.
    case duplicateColumn(path: String, name: String)
    /// A header but no data rows, or every row was bad and skipped.
    case noDataRows(path: String, skipped: Int)
    /// A quoted CSV field still open at the end of the file; `line` is where its quote opened.
    case unterminatedQuote(path: String, line: Int)
    /// The bytes at `line` are not UTF-8 (often a GBK or Latin-1 export).
    case invalidUTF8(path: String, line: Int)
    /// A `.json` file that is one JSON document (an array) rather than JSON Lines.
    case notJSONLines(path: String)
    /// Rows that could not become examples (empty text, missing label, invalid JSON, wrong field
    /// count, a label the training split never saw). All are kept; the message lists the first ten.
    case badRows([BadRow])
    /// Split ratios that are invalid, or too few examples for the requested split.
    case invalidSplit(String)
    /// Explicit class weights that do not match the label set.
    case invalidClassWeights(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): file not found"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file: \(reason)"
        case .emptyFile(let path):
            return "\(path): the file is empty"
        case .unknownFormat(let path, let ext):
            let shown = ext.isEmpty ? "no extension" : "extension \".\(ext)\""
            return "\(path): cannot tell the format from \(shown); name the file .csv, .tsv or .jsonl, or pass the format (csv, tsv or jsonl)"
        case .missingColumns(let path, let missing, let available):
            let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
            let have = available.map { "\"\($0)\"" }.joined(separator: ", ")
            return "\(path): column\(missing.count == 1 ? "" : "s") \(names) not found; the file has \(have.isEmpty ? "no columns" : have)"
        case .duplicateColumn(let path, let name):
            return "\(path): column \"\(name)\" appears more than once in the header; rename one of them"
        case .noDataRows(let path, let skipped):
            if skipped > 0 {
                return "\(path): no usable rows (all \(skipped) rows were bad and skipped)"
            }
            return "\(path): the file has a header but no data rows"
        case .unterminatedQuote(let path, let line):
            return "\(path):\(line): a quoted field opened on this line is never closed (a stray \" in the text? double it as \"\")"
        case .invalidUTF8(let path, let line):
            return "\(path):\(line): the file is not valid UTF-8 from this line on; convert it first (e.g. iconv -f GBK -t UTF-8)"
        case .notJSONLines(let path):
            return "\(path): this is a single JSON document (an array), not JSON Lines; write one JSON object per line"
        case .badRows(let rows):
            var files: [String] = []
            for row in rows where !files.contains(row.location.file) { files.append(row.location.file) }
            let plural = rows.count == 1 ? "row" : "rows"
            return
                "\(files.joined(separator: ", ")): \(rows.count) bad \(plural) (fix them, or set skip_bad_rows: true / --skip-bad-rows to drop and report them):\n"
                + BadRow.summary(of: rows)
        case .invalidSplit(let reason):
            return "invalid split: \(reason)"
        case .invalidClassWeights(let reason):
            return "invalid class weights: \(reason)"
        }
    }
}

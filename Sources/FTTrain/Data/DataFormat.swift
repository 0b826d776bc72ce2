/// The file formats the reader understands.
public enum DataFormat: String, Sendable, CaseIterable, Codable {
    /// RFC 4180 comma-separated values with a header row.
    case csv
    /// Tab-separated values with a header row; quoting works as in CSV (as pandas reads them).
    case tsv
    /// JSON Lines: one JSON object per line; blank lines are ignored.
    case jsonl

    /// The format an extension implies: `.csv`; `.tsv` or `.tab`; `.jsonl`, `.ndjson` or `.json`
    /// (a `.json` file must still hold one object per line). Case-insensitive.
    public static func inferred(fromPath path: String) -> DataFormat? {
        switch fileExtension(of: path).lowercased() {
        case "csv": return .csv
        case "tsv", "tab": return .tsv
        case "jsonl", "ndjson", "json": return .jsonl
        default: return nil
        }
    }

    /// The text after the last dot of the last path component, or "" when there is none.
    static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }
}

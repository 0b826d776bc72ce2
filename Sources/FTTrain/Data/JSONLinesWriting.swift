import Foundation

/// The one writer of the run directory's JSON Lines files (`data_splits/*.jsonl`, `errors.jsonl`,
/// `predictions.jsonl`, `generations.jsonl`): one object per line, keys sorted and slashes left
/// unescaped, so the same records give the same bytes whichever task writes them.
extension JSONLines {
    /// Writes `records` to `url` (atomically), a line each.
    static func write(_ records: some Sequence<[String: Any]>, to url: URL) throws {
        var lines = Data()
        for record in records {
            lines.append(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]))
            lines.append(0x0A)
        }
        try lines.write(to: url, options: .atomic)
    }

    /// Writes each split as `directory/<name>.jsonl` (the directory made when missing), a line per
    /// example as `record` describes it.
    static func writeSplits<Example>(
        _ splits: [(String, [Example])], to directory: URL, record: (Example) -> [String: Any]
    ) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, examples) in splits {
            try write(examples.lazy.map(record), to: directory.appendingPathComponent("\(name).jsonl"))
        }
    }
}

import Foundation

/// Reads labelled text from CSV, TSV or JSON Lines files into `TextExample`s (`read`), or the texts
/// alone for prediction (`readTexts`).
///
/// Every file is read whole and parsed as bytes: the 2 MB / 14k-row data sets this tool is made for
/// parse in a few milliseconds. The whole file is checked to be UTF-8 first (a leading byte-order
/// mark is skipped), so a GBK export fails with the line where it stops being UTF-8 instead of
/// producing mojibake.
public enum DataReader {
    /// Reads the file at `path`.
    /// - Throws: `DataError` — a missing, empty, non-UTF-8 or malformed file, missing columns, or bad
    ///   rows when `options.skipBadRows` is false.
    public static func read(_ path: String, options: DataReadOptions = DataReadOptions()) throws -> LoadedData {
        let contents = try fileContents(path)
        return try read(contents: contents, path: path, format: resolvedFormat(path: path, options: options), options: options)
    }

    /// Parses `contents` as if read from `path` (used in messages and, without `options.format`, to
    /// infer the format).
    public static func read(contents: [UInt8], path: String, options: DataReadOptions = DataReadOptions()) throws -> LoadedData {
        try read(contents: contents, path: path, format: resolvedFormat(path: path, options: options), options: options)
    }

    /// Reads only the text (and pair) column of every row, for prediction: no label column is needed,
    /// and no row is dropped — the i-th result belongs to the i-th data row — so a row whose text is
    /// empty is kept (as an empty string). Rows that cannot be read (a wrong field count, invalid JSON,
    /// a missing or non-string text) fail the read, listed with file and line.
    /// - Parameter format: the format, or nil to infer it from the extension.
    public static func readTexts(
        _ path: String, format: DataFormat? = nil, textColumn: String = "text",
        textPairColumn: String? = nil, cleaning: TextCleaning = .default
    ) throws -> [(text: String, pair: String?)] {
        let options = DataReadOptions(
            format: format, columns: DataColumns(text: textColumn, textPair: textPairColumn),
            cleaning: cleaning)
        let contents = try fileContents(path)
        var builder = ExampleBuilder(path: path, columns: options.columns, cleaning: cleaning, labelled: false)
        try parse(contents, path: path, format: resolvedFormat(path: path, options: options), into: &builder)
        if !builder.badRows.isEmpty { throw DataError.badRows(builder.badRows) }
        if builder.texts.isEmpty { throw DataError.noDataRows(path: path, skipped: 0) }
        return builder.texts
    }

    static func fileContents(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw DataError.unreadable(path: path, reason: "it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or I/O error")
        }
        return [UInt8](data)
    }

    static func resolvedFormat(path: String, options: DataReadOptions) throws -> DataFormat {
        if let format = options.format ?? DataFormat.inferred(fromPath: path) { return format }
        throw DataError.unknownFormat(path: path, fileExtension: DataFormat.fileExtension(of: path))
    }

    private static func read(contents: [UInt8], path: String, format: DataFormat, options: DataReadOptions) throws -> LoadedData {
        var builder = ExampleBuilder(path: path, columns: options.columns, cleaning: options.cleaning)
        builder.labelKind = options.labelKind
        try parse(contents, path: path, format: format, into: &builder)
        if !builder.badRows.isEmpty && !options.skipBadRows { throw DataError.badRows(builder.badRows) }
        if builder.examples.isEmpty { throw DataError.noDataRows(path: path, skipped: builder.badRows.count) }
        return LoadedData(path: path, format: format, examples: builder.examples, skippedRows: builder.badRows)
    }

    /// Checks the encoding and hands every row to `builder`.
    private static func parse(_ contents: [UInt8], path: String, format: DataFormat, into builder: inout ExampleBuilder) throws {
        try contents.withUnsafeBufferPointer { bytes in
            let start = ByteScanning.bomLength(bytes)
            if ByteScanning.isBlank(bytes, from: start, to: bytes.count) { throw DataError.emptyFile(path: path) }
            if let bad = ByteScanning.firstInvalidUTF8(bytes) {
                throw DataError.invalidUTF8(path: path, line: ByteScanning.line(ofOffset: bad, in: bytes))
            }
            switch format {
            case .csv: try readDelimited(bytes, delimiter: UInt8(ascii: ","), path: path, into: &builder)
            case .tsv: try readDelimited(bytes, delimiter: 0x09, path: path, into: &builder)
            case .jsonl: try JSONLinesReading.read(bytes, path: path, into: &builder)
            }
        }
    }

    private static func readDelimited(
        _ bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, path: String,
        into builder: inout ExampleBuilder
    ) throws {
        var parser = DelimitedParser(bytes: bytes, delimiter: delimiter, path: path)
        var fields: [FieldSpan] = []
        guard try parser.nextRecord(into: &fields) != nil else { throw DataError.emptyFile(path: path) }
        let header = fields.map { ExampleBuilder.trimmed(parser.string($0)) }
        let columns = builder.columns
        let missing = builder.requiredColumns.filter { !header.contains($0) }
        if !missing.isEmpty { throw DataError.missingColumns(path: path, missing: missing, available: header) }
        let textIndex = try columnIndex(columns.text, in: header, path: path)
        let pairIndex = try columns.textPair.map { try columnIndex($0, in: header, path: path) }
        let labelIndices =
            builder.labelled ? try (columns.labels ?? [columns.label]).map { try columnIndex($0, in: header, path: path) } : []

        while let line = try parser.nextRecord(into: &fields) {
            guard fields.count == header.count else {
                let hint = fields.count > header.count ? " (an unquoted delimiter inside a field? quote the field)" : ""
                builder.reject(line: line, "expected \(header.count) fields (as in the header), found \(fields.count)\(hint)")
                continue
            }
            let text = parser.string(fields[textIndex])
            let pair = pairIndex.map { parser.string(fields[$0]) }
            if builder.labelled {
                // Several label columns (multi-output regression): their cells joined, checked one by one.
                let label = labelIndices.map { parser.string(fields[$0]) }.joined(separator: LabelKind.listJoiner)
                builder.add(text: text, pair: pair, label: label, line: line)
            } else {
                builder.addUnlabelled(text: text, pair: pair)
            }
        }
    }

    /// The index of `name`, which is in `header`; an error when it appears twice.
    private static func columnIndex(_ name: String, in header: [String], path: String) throws -> Int {
        let matches = header.indices.filter { header[$0] == name }
        if matches.count > 1 { throw DataError.duplicateColumn(path: path, name: name) }
        return matches[0]
    }
}

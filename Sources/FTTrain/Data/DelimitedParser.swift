/// A field of a delimited record, as byte offsets into the file: strings are made only for the
/// columns the reader needs.
struct FieldSpan {
    var start: Int
    var end: Int
    /// The field began with a quote, so its bytes need unquoting.
    var quoted: Bool
}

/// RFC 4180 record splitter over the bytes of a CSV or TSV file.
///
/// Records end at LF, CRLF or a lone CR, except inside quotes. A field that starts with `"` is
/// quoted: delimiters and line breaks inside it are text and `""` is one quote. Where RFC 4180 says
/// "malformed" but every mainstream reader (Python's csv, pandas) accepts, so do we: text after a
/// closing quote is appended (`"ab"c` → `abc`) and a quote inside an unquoted field is literal
/// (`ab"c` → `ab"c`). A quote still open at the end of the file is an error naming the line where it
/// opened — the usual cause is a stray quote that swallowed the rest of the file.
struct DelimitedParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let delimiter: UInt8
    let path: String
    private(set) var position: Int
    /// Physical line of `position`.
    private(set) var line = 1

    init(bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, path: String) {
        self.bytes = bytes
        self.delimiter = delimiter
        self.path = path
        position = ByteScanning.bomLength(bytes)
    }

    private static let quote = UInt8(ascii: "\"")
    private static let lf: UInt8 = 0x0A
    private static let cr: UInt8 = 0x0D

    /// Reads the next record into `fields` (cleared first), skipping blank lines.
    /// - Returns: the line the record starts on, or nil at the end of the file.
    mutating func nextRecord(into fields: inout [FieldSpan]) throws -> Int? {
        while position < bytes.count {
            fields.removeAll(keepingCapacity: true)
            let startLine = line
            try readRecord(into: &fields)
            // A blank line (empty, or spaces only) is not a record, as in pandas' skip_blank_lines.
            if fields.count == 1, !fields[0].quoted,
                ByteScanning.isBlank(bytes, from: fields[0].start, to: fields[0].end)
            {
                continue
            }
            return startLine
        }
        return nil
    }

    private mutating func readRecord(into fields: inout [FieldSpan]) throws {
        let b = bytes
        let n = b.count
        var i = position
        while true {
            let start = i
            var quoted = false
            if i < n && b[i] == Self.quote {
                quoted = true
                let openLine = line
                i += 1
                while true {
                    guard i < n else {
                        position = n
                        throw DataError.unterminatedQuote(path: path, line: openLine)
                    }
                    let c = b[i]
                    if c == Self.quote {
                        if i + 1 < n && b[i + 1] == Self.quote {
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    if c == Self.lf || (c == Self.cr && (i + 1 >= n || b[i + 1] != Self.lf)) { line += 1 }
                    i += 1
                }
            }
            // Unquoted bytes (or the lenient tail after a closing quote) up to the field's end.
            while i < n {
                let c = b[i]
                if c == delimiter || c == Self.lf || c == Self.cr { break }
                i += 1
            }
            fields.append(FieldSpan(start: start, end: i, quoted: quoted))
            if i >= n { break }
            if b[i] == delimiter {
                i += 1
                continue
            }
            // Line break: CRLF, LF or a lone CR ends the record.
            if b[i] == Self.cr && i + 1 < n && b[i + 1] == Self.lf { i += 1 }
            i += 1
            line += 1
            break
        }
        position = i
    }

    /// The text of a field: unquoted fields as they are, quoted ones with the quotes removed and `""`
    /// turned into `"`.
    func string(_ field: FieldSpan) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[field.start..<field.end])
        guard field.quoted else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var inQuotes = true
        var i = 1  // skip the opening quote
        while i < raw.count {
            let c = raw[i]
            if inQuotes && c == Self.quote {
                if i + 1 < raw.count && raw[i + 1] == Self.quote {
                    out.append(Self.quote)
                    i += 2
                    continue
                }
                inQuotes = false
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

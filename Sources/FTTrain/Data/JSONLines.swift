import FTCore

/// The one loop over the lines of a JSON Lines file, shared by its readers: `JSONLinesReading`
/// (training and evaluation data) and `DataTable` (`fttrain partition`, the federated sites).
/// Lines end at LF with an optional CR before it; blank lines are skipped but counted.
enum JSONLines {
    /// One non-blank line: its 1-based number and its bytes (without the line ending).
    struct Line {
        let number: Int
        let bytes: UnsafeBufferPointer<UInt8>

        /// The line as one JSON value (`StrictJSON`, lone surrogates as U+FFFD, as Python reads them).
        func parse() throws(JSONLineError) -> StrictJSON.Value {
            do {
                return try StrictJSON.parse(bytes, options: StrictJSON.Options(endName: "end of line"))
            } catch {
                throw JSONLineError(message: error.message, column: StrictJSON.column(ofOffset: error.offset, in: bytes))
            }
        }
    }

    /// Calls `body` for each non-blank line of `bytes` from offset `start` (past any byte-order mark).
    static func forEachLine(
        in bytes: UnsafeBufferPointer<UInt8>, from start: Int,
        _ body: (Line) throws -> Void
    ) rethrows {
        var start = start, line = 1
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let next = end + 1
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }  // CRLF
            defer {
                start = next
                line += 1
            }
            if ByteScanning.isBlank(bytes, from: start, to: end) { continue }
            try body(Line(number: line, bytes: UnsafeBufferPointer(rebasing: bytes[start..<end])))
        }
    }
}

/// A JSON syntax error at a 1-based column (counted in Unicode scalars) of its line.
struct JSONLineError: Error {
    var message: String
    var column: Int

    /// The bad-row reason the readers report.
    var reason: String { "invalid JSON at column \(column): \(message)" }
}

/// A JSON object of a line: its keys in file order and its values (a repeated key keeps its last
/// value, as Python's `json` does).
struct JSONObject: Equatable {
    var keys: [String] = []
    var values: [String: StrictJSON.Value] = [:]

    init(_ members: [StrictJSON.Member]) {
        for member in members where values.updateValue(member.value, forKey: member.key) == nil {
            keys.append(member.key)
        }
    }
}

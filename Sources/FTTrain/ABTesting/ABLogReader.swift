import Foundation

/// An A/B log read back: the joined ledger and what was found at the end of the file.
public struct ABLogContents: Sendable {
    public var ledger: ABLedger
    /// Records read (predictions and feedback).
    public var recordCount: Int
    /// The file ended in an unterminated line that is not a whole record — the writer crashed in
    /// the middle of it — and that line was skipped.
    public var droppedTruncatedLine: Bool
    /// Bytes of the file up to the end of its last whole record (where a writer appends).
    public var intactLength: Int
    /// The last whole record has no newline after it (the writer crashed just before it).
    public var lacksFinalNewline: Bool
}

/// Reads an A/B log (see ``ABLogRecord`` for the line format).
///
/// Only the *last* line may be cut short: ``ABLog`` writes each line with one `write(2)` and never
/// writes after a failed one, so a crash can leave at most a partial final line without its
/// newline. That line is dropped (``ABLogContents/droppedTruncatedLine``). A bad line anywhere else
/// — invalid JSON, a missing field, feedback for a request the log never served — is corruption and
/// fails the read with the file and the line number, rather than silently skewing the statistics.
/// Blank lines are skipped.
public enum ABLogReader {
    public static func read(path: String) throws(ABTestingError) -> ABLogContents {
        guard FileManager.default.fileExists(atPath: path) else { throw .io(path: path, message: "no such file") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, message: "cannot read the A/B log: \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(ABTestingError) -> ABLogContents in
            try read(buffer, path: path)
        }
    }

    /// Reads the log held in `bytes`; `path` only names it in errors.
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>, path: String) throws(ABTestingError) -> ABLogContents {
        var contents = ABLogContents(
            ledger: ABLedger(), recordCount: 0, droppedTruncatedLine: false, intactLength: 0,
            lacksFinalNewline: false)
        var start = 0, line = 1
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let terminated = end < bytes.count
            var contentEnd = end
            if contentEnd > start && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }  // CRLF
            let text = UnsafeBufferPointer(rebasing: bytes[start..<contentEnd])
            if !text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                let record: ABLogRecord
                do {
                    record = try ABLogRecord.parse(text)
                } catch {
                    if terminated { throw .corruptLine(path: path, line: line, message: error.message) }
                    contents.droppedTruncatedLine = true  // the partial last line of a crash
                    return contents
                }
                do {
                    try contents.ledger.apply(record)
                } catch {
                    throw .corruptLine(path: path, line: line, message: error.description)
                }
                contents.recordCount += 1
            }
            contents.intactLength = terminated ? end + 1 : end
            contents.lacksFinalNewline = !terminated
            start = end + 1
            line += 1
        }
        return contents
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// The append-only log of an A/B test: every prediction served on an A/B route and every feedback
/// (true label) sent for one, one JSON line each (``ABLogRecord``), as `fttrain serve --ab-log`
/// writes it and `fttrain ab-report` reads it.
///
/// Thread-safe: one lock orders the records, so the server's request handlers may call it from any
/// thread. Each line goes to the kernel in one `write(2)` as soon as it is recorded (no user-space
/// buffer to lose; not `fsync`ed — a crash of the machine, not the process, may lose the last lines
/// of the page cache). A crash mid-write leaves at most a partial last line: opening the log again
/// drops it (``recoveredTruncatedLine``) so the next line starts clean.
///
/// The log keeps the ``ABLedger`` of all records in memory, so it can refuse feedback for a request
/// it never served (the server answers 404) and the server can report without reading the file.
public final class ABLog: @unchecked Sendable {
    /// The file; `nil` for a log kept in memory only (``init()``).
    public let path: String?
    /// Opening found a partial last line (a crash mid-write) and cut it off the file.
    public let recoveredTruncatedLine: Bool

    private let lock = NSLock()
    private var descriptor: Int32
    private var ledger: ABLedger
    private var failure: ABTestingError?

    /// Opens the log at `path` for appending, creating it if needed; an existing log is read back
    /// first (a corrupt one is refused with its line number, see ``ABLogReader``).
    public init(path: String) throws(ABTestingError) {
        self.path = path
        var contents = ABLogContents(
            ledger: ABLedger(), recordCount: 0, droppedTruncatedLine: false, intactLength: 0, lacksFinalNewline: false)
        if FileManager.default.fileExists(atPath: path) { contents = try ABLogReader.read(path: path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, message: "cannot open the A/B log: \(String(cString: strerror(errno)))") }
        descriptor = fd
        ledger = contents.ledger
        recoveredTruncatedLine = contents.droppedTruncatedLine
        // From here every stored property is set, so a throw runs `deinit`, which closes `fd`.
        if contents.droppedTruncatedLine, ftruncate(fd, off_t(contents.intactLength)) != 0 {
            throw .io(path: path, message: "cannot cut the partial last line of the A/B log: \(String(cString: strerror(errno)))")
        }
        if contents.lacksFinalNewline { try write("\n") }
    }

    /// A log kept in memory only (a server without `--ab-log`): feedback and reports work, but
    /// nothing survives a restart.
    public init() {
        path = nil
        recoveredTruncatedLine = false
        descriptor = -1
        ledger = ABLedger()
    }

    deinit { close() }

    /// Logs a prediction served on an A/B route.
    /// - Throws: ``ABTestingError/duplicateRequest(_:)`` for an id already logged, or an I/O error.
    public func logPrediction(
        id: String, route: String, arm: String, model: String, labels: [String], date: Date = Date()
    ) throws(ABTestingError) {
        try append(.prediction(ABPrediction(id: id, route: route, arm: arm, model: model, labels: labels, time: Self.timestamp(date))))
    }

    /// Logs the true labels of an earlier A/B request and returns that request's prediction.
    /// - Throws: ``ABTestingError/unknownRequest(_:)`` (404) when no A/B prediction had that id,
    ///   ``ABTestingError/feedbackCount(id:expected:found:)`` when the label count differs from the
    ///   request's input count, or an I/O error.
    @discardableResult
    public func logFeedback(id: String, labels: [String], date: Date = Date()) throws(ABTestingError) -> ABPrediction {
        try append(.feedback(ABFeedback(id: id, labels: labels, time: Self.timestamp(date))))
        return lock.withLock { ledger[id]!.prediction }
    }

    /// Checks `record` against the ledger, writes its line, then applies it: a refused record
    /// leaves both the file and the ledger unchanged.
    public func append(_ record: ABLogRecord) throws(ABTestingError) {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        try ledger.check(record)
        do {
            try write(record.line)
        } catch {
            // A failed or short write may have left a partial line: writing more after it would put
            // corruption in the middle of the file, so the log refuses every later record.
            failure = error
            throw error
        }
        try! ledger.apply(record)  // checked above under the same lock
    }

    /// A copy of the ledger (for ``ABReport``).
    public var snapshot: ABLedger { lock.withLock { ledger } }

    /// Closes the file; later records fail.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if let path, descriptor >= 0 {
            posixClose(descriptor)
            descriptor = -1
            failure = failure ?? .io(path: path, message: "the A/B log is closed")
        }
    }

    /// Writes all of `text` (called with the lock held, or from `init`).
    private func write(_ text: String) throws(ABTestingError) {
        guard let path else { return }  // in memory only
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { posixWrite(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, message: "cannot write the A/B log: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// `date` as ISO 8601 UTC with milliseconds, `2026-12-07T14:00:00.123Z` (sorts as text).
    public static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000 - (milliseconds % 1000 < 0 ? 1 : 0))
        let fraction = ((milliseconds % 1000) + 1000) % 1000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
    }
}

// The C functions, under names the class's own `close()` and `write(_:)` do not shadow.
private func posixClose(_ descriptor: Int32) { _ = close(descriptor) }
private func posixWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, buffer, count) }

import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The run's log: one JSON object per line in `log.jsonl` (the contract scripts read) and a
/// human line on stderr — a progress line redrawn in place on a terminal, plain lines otherwise.
public final class TrainingLog {
    private let file: FileHandle?
    private let interactive: Bool
    private let started = Date()
    private var progressShown = false
    private var lastPlainProgress = Date.distantPast
    /// Non-coordinator ranks log nothing (rank 0 alone logs and writes).
    private let quiet: Bool
    /// Every line written to `log.jsonl` so far, exactly (checkpoints carry it, so a resumed
    /// run's log is the uninterrupted run's).
    public private(set) var history = Data()
    /// With `report_to: tensorboard`, every record's numbers also go to TensorBoard event files
    /// (HF's tags); a write that fails is reported once and TensorBoard logging stops.
    public var tensorBoard: TensorBoardWriter?

    /// Opens (truncating) `path` for the JSON lines; nil writes no file. A `quiet` log prints nothing.
    public init(path: String?, quiet: Bool = false) throws {
        self.quiet = quiet
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
            file = FileHandle(forWritingAtPath: path)
        } else {
            file = nil
        }
        interactive = isatty(STDERR_FILENO) != 0
    }

    deinit { try? file?.close() }

    /// Appends one record to `log.jsonl` (keys sorted, numbers as JSON numbers).
    public func record(_ values: [String: Any]) {
        guard let file, var data = try? JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        file.write(data)
        history.append(data)
        if let tensorBoard {
            do {
                try tensorBoard.record(values.compactMapValues { ($0 as? NSNumber)?.doubleValue })
            } catch {
                message("warning: TensorBoard logging stopped: \(error)")
                self.tensorBoard = nil
            }
        }
    }

    /// Starts the log over with `lines` (a checkpoint's history) as its first records.
    public func restore(history lines: Data) {
        guard let file else { return }
        file.write(lines)
        history = lines
    }

    /// The records of `lines` (JSON objects, one per line) with their numeric fields, as
    /// `trainer_state.json`'s `log_history` shows them.
    public static func records(_ lines: Data) -> [[String: Double]] {
        lines.split(separator: 0x0A).compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
            return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    /// A progress report: redrawn on one terminal line; when stderr is not a terminal, printed as
    /// its own line at most every 10 seconds (and at the last step), so logs stay readable.
    public func progress(step: Int, totalSteps: Int, epoch: Double, loss: Double, samplesPerSecond: Double) {
        if quiet { return }
        let elapsed = Date().timeIntervalSince(started)
        let left = step > 0 ? elapsed / Double(step) * Double(totalSteps - step) : 0
        let line = String(
            format: "step %d/%d  epoch %.2f  loss %.4f  %.1f samples/s  elapsed %@  left %@",
            step, totalSteps, epoch, loss, samplesPerSecond, Self.clock(elapsed), Self.clock(left))
        if interactive {
            FileHandle.standardError.write(("\r\u{1B}[2K" + line).data(using: .utf8)!)
            progressShown = true
        } else if step == totalSteps || Date().timeIntervalSince(lastPlainProgress) >= 10 {
            lastPlainProgress = Date()
            message(line)
        }
    }

    /// A message on its own line (ends a progress line first).
    public func message(_ text: String) {
        if quiet { return }
        if progressShown {
            FileHandle.standardError.write("\n".data(using: .utf8)!)
            progressShown = false
        }
        FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

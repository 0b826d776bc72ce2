/// Why a checkpoint cannot be written, found or resumed from; each message names the directory
/// or file and the problem.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A checkpoint directory is incomplete or damaged (no completion marker, a missing file, a
    /// sum that does not match, a file that does not parse).
    case corrupt(directory: String, reason: String)
    /// No complete checkpoint to resume from.
    case notFound(String)
    /// The checkpoint cannot continue this run (another seed, data set, model, or a global batch
    /// the new number of ranks cannot keep).
    case incompatible(String)
    /// Writing failed on some rank; the partial checkpoint was removed.
    case writeFailed(String)

    public var description: String {
        switch self {
        case .corrupt(let directory, let reason): return "checkpoint \(directory) is unusable: \(reason)"
        case .notFound(let message): return message
        case .incompatible(let message): return "cannot resume: \(message)"
        case .writeFailed(let message): return "cannot write the checkpoint: \(message)"
        }
    }
}

/// The run stopped at a step boundary because the process was asked to (SIGTERM, SIGINT), after
/// writing `checkpoint`. `fttrain train` exits with 128 + `signal`, as a process killed by it would.
public struct TrainingInterrupted: Error, Sendable, CustomStringConvertible {
    public let signal: Int32
    public let step: Int
    /// The checkpoint written at `step`, from which `--resume-from latest` continues.
    public let checkpoint: String

    public init(signal: Int32, step: Int, checkpoint: String) {
        self.signal = signal
        self.step = step
        self.checkpoint = checkpoint
    }

    public var description: String {
        "stopped by signal \(signal) after step \(step); \(checkpoint) written: continue with --resume-from latest"
    }
}

import ArgumentParser
import FTCore

/// `--max-length`, `--batch-size`, `--threads`: how a command that classifies a file of texts
/// runs its forward passes (`predict`, `quantize --eval-file`).
struct ClassifierInferenceOptions: ParsableArguments {
    @Option(name: .customLong("max-length"), help: "Tokens per text including [CLS]/[SEP].")
    var maxLength = 128

    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.")
    var batchSize = 64

    @Option(
        help: "Threads fttrain computes on, each running single-threaded OpenBLAS (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    func validate() throws {
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    /// Sets fttrain's compute threads when `--threads` was given.
    func applyThreads() {
        if let threads { Parallel.threadCount = threads }
    }
}

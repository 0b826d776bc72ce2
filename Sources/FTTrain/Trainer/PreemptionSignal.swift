import Dispatch
import Foundation

/// SIGTERM and SIGINT as requests to stop at the next step boundary (Slurm sends SIGTERM before
/// pre-empting a job; Ctrl-C sends SIGINT): the trainer then writes a checkpoint and ends with
/// `TrainingInterrupted`. A second SIGINT stops at once (exit status 130).
public enum PreemptionSignal {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var received: Int32?
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Replaces the default handlers of SIGTERM and SIGINT (once per process).
    public static func install() {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let repeated = lock.withLock {
                    defer { received = received ?? number }
                    return received != nil
                }
                if repeated && number == SIGINT { exit(130) }
                if !repeated {
                    FileHandle.standardError.write(
                        Data(
                            "\nreceived \(number == SIGTERM ? "SIGTERM" : "SIGINT"): checkpointing after this step, then stopping (SIGINT again stops at once)\n"
                                .utf8))
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first stop signal received, if any.
    public static var requested: Int32? { lock.withLock { received } }
}

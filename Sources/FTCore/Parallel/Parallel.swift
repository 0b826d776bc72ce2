import Dispatch
import Foundation

/// fttrain's own use of the cores: independent slices of a batch run on separate threads, each
/// with single-threaded BLAS inside, instead of one thread driving multi-threaded BLAS.
///
/// Why: a BERT forward is independent across sequences, and most of its non-product work
/// (softmax, GELU, layer norm) and its many small per-head products parallelise badly inside
/// BLAS — measured on 2 cores, OpenBLAS's idle threads spent ~20% of an inference pass in
/// `sched_yield` while the caller ran those loops alone.
public enum Parallel {
    nonisolated(unsafe) private static var configuredThreads: Int = defaultThreadCount()

    /// Threads used for batch slices and by BLAS outside them. Setting it also sets OpenBLAS's count.
    public static var threadCount: Int {
        get { configuredThreads }
        set {
            configuredThreads = max(1, newValue)
            BLAS.threadCount = configuredThreads
        }
    }

    /// `OPENBLAS_NUM_THREADS` or `OMP_NUM_THREADS` when set (as a launcher sets per rank),
    /// else the active processor count.
    static func defaultThreadCount() -> Int {
        let environment = ProcessInfo.processInfo.environment
        for key in ["FTTRAIN_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"] {
            if let value = environment[key].flatMap(Int.init), value > 0 { return value }
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Splits `0..<count` into at most `threadCount` contiguous, nearly equal ranges and runs `body`
    /// on each concurrently (on the calling thread alone when there is one range). BLAS runs
    /// single-threaded while slices run side by side, and gets its thread count back after.
    public static func forEachSlice(of count: Int, _ body: (Range<Int>) -> Void) {
        let slices = min(configuredThreads, count)
        guard slices > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        BLAS.threadCount = 1
        defer { BLAS.threadCount = configuredThreads }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: slices) { i in
                let start = count * i / slices, end = count * (i + 1) / slices
                box.value(start..<end)
            }
        }
    }
}

/// Carries a value across a concurrency boundary whose safety the caller guarantees
/// (here: slices write disjoint parts of shared buffers).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

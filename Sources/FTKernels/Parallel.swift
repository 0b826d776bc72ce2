import CSpinPool
import Dispatch
import Foundation

/// fttrain's own use of the cores: independent slices of the work run on separate threads, each
/// with single-threaded BLAS inside, and OpenBLAS never starts threads of its own.
///
/// Why: a BERT forward is independent across sequences, and most of its non-product work
/// (softmax, GELU, layer norm) and its many small per-head products parallelise badly inside
/// BLAS. Mixing the two is worse: after a multi-threaded product OpenBLAS's idle threads spin in
/// `sched_yield` and take a core from the slices that follow — measured on 2 cores, two
/// single-threaded halves of a 4096 × 384 × 1536 product ran at 93–115 GFLOP/s right after a
/// threaded product and at 180–194 GFLOP/s without one (OpenBLAS's own 2 threads: 195).
///
/// The slices run on `SlicePool`'s threads, which spin briefly between slices before they park,
/// so the several dozen small dispatches of one text's forward pass do not each wait for a thread
/// to wake up.
public enum Parallel {
    nonisolated(unsafe) private static var configuredThreads: Int = defaultThreadCount()
    /// Set on a thread while it runs a slice, so a nested `forEachSlice` runs inline there.
    /// Thread-local: independent threads (in-process federated sites) each slice their own work.
    private static let insideSliceKey: pthread_key_t = {
        var key = pthread_key_t()
        // Not inside a `precondition`: this target is built -Ounchecked, where a precondition's
        // condition is not even evaluated, so the key was never created (key 0 was used instead).
        let status = pthread_key_create(&key, nil)
        if status != 0 { fatalError("pthread_key_create failed (\(status))") }
        return key
    }()
    private static var insideSlice: Bool { pthread_getspecific(insideSliceKey) != nil }
    /// The warning `defaultThreadCount` leaves when the environment asks for more threads than cores;
    /// printed once by the first slicing if `threadCount` was not set explicitly.
    nonisolated(unsafe) private static var oversubscriptionWarning: String?
    nonisolated(unsafe) private static var threadCountWasSet = false
    private static let warnedOnce: Void = {
        _ = configuredThreads
        if let warning = oversubscriptionWarning, !threadCountWasSet { FileHandle.standardError.write(Data(warning.utf8)) }
    }()
    /// OpenBLAS stays single-threaded for the life of the process (set once, before any slice),
    /// with the widest kernels the CPU runs (`OpenBLASKernels`).
    private static let blasPinned: Void = {
        OpenBLASKernels.selectForThisCPU()
        BLAS.threadCount = 1
    }()

    /// Makes OpenBLAS single-threaded now, before its first product (the first slice or thread
    /// setting does it too): its own threads would spin beside fttrain's.
    public static func pinBLASThreads() { _ = blasPinned }

    /// Threads used for slices of the work. Products are split across them by `sgemm`.
    public static var threadCount: Int {
        get { configuredThreads }
        set {
            _ = blasPinned
            threadCountWasSet = true
            configuredThreads = max(1, newValue)
            SlicePool.threadsChanged()
        }
    }

    /// `FTTRAIN_THREADS`, `OPENBLAS_NUM_THREADS` or `OMP_NUM_THREADS` when set (as a launcher sets
    /// per rank), else the active processor count.
    ///
    /// OpenBLAS's own variable is harmless to OpenBLAS here: the library starts its idle pool at
    /// load from it (with it unset, from the processor count: the same pool on a machine with that
    /// many cores), fttrain sets OpenBLAS to one thread before its first product, and the pool
    /// never wakes (its thread used 0 CPU ticks over a training run, and the process's CPU time was
    /// the same with it unset, 1 or 2). What it does set is fttrain's own thread count when neither
    /// `--threads` nor `FTTRAIN_THREADS` is given: a value above the cores oversubscribes them, so
    /// that case is warned about once.
    static func defaultThreadCount() -> Int {
        let environment = ProcessInfo.processInfo.environment
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        for key in ["FTTRAIN_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"] {
            if let value = environment[key].flatMap(Int.init), value > 0 {
                if key != "FTTRAIN_THREADS" && value > cores {
                    oversubscriptionWarning =
                        "warning: \(key)=\(value) sets fttrain's threads (it runs OpenBLAS single-threaded inside its own) "
                        + "above the \(cores) cores here; set FTTRAIN_THREADS or --threads (cores ÷ ranks under mpirun) "
                        + "and \(key)=1\n"
                }
                return value
            }
        }
        return cores
    }

    /// How many slices `forEachSlice(of: count, granularity:)` makes from here: 1 inside a slice.
    public static func sliceCount(of count: Int, granularity: Int = 1) -> Int {
        let units = (count + granularity - 1) / max(granularity, 1)
        return insideSlice ? min(1, units) : min(configuredThreads, units)
    }

    /// Splits `0..<count` into at most `threadCount` contiguous, nearly equal ranges, each starting
    /// at a multiple of `granularity`, and runs `body` on each concurrently (on the calling thread
    /// alone when there is one range, or when called from inside a slice): the first range on the
    /// calling thread, the others on `SlicePool`'s workers (libdispatch's when another thread is
    /// using the pool). The ranges do not depend on which threads run them.
    public static func forEachSlice(of count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachSlice(of: count, granularity: granularity) { _, range in body(range) }
    }

    /// `forEachSlice` that also passes the slice's index (`0 ..< sliceCount(of:granularity:)`),
    /// for per-slice scratch such as partial sums.
    public static func forEachSlice(of count: Int, granularity: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        _ = blasPinned
        _ = warnedOnce
        let g = max(granularity, 1)
        let slices = sliceCount(of: count, granularity: g)
        guard slices > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = SliceJob(body: body, count: count, granularity: g, slices: slices, key: insideSliceKey)
            // The spinning pool (`SlicePool`); when another thread is using it (independent
            // threads that each slice their own work), libdispatch's threads as before.
            let ran = withUnsafeMutablePointer(to: &job) { ft_pool_run(SlicePool.pool, Int32(slices), SliceJob.run, $0) }
            if ran == 0 {
                let box = UncheckedSendable(job)
                DispatchQueue.concurrentPerform(iterations: slices) { i in box.value.slice(i) }
            }
        }
    }
}

/// One `forEachSlice` call as the pool's threads see it: slice `i` of `0..<count`.
private struct SliceJob {
    let body: (Int, Range<Int>) -> Void
    let count, granularity, slices: Int
    let key: pthread_key_t

    /// Runs slice `i` on the calling thread, marked as inside a slice (nested slicing runs inline).
    func slice(_ i: Int) {
        let units = (count + granularity - 1) / granularity
        let start = min(count, units * i / slices * granularity), end = min(count, units * (i + 1) / slices * granularity)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        body(i, start..<end)
        pthread_setspecific(key, nil)
    }

    /// The pool's entry point: `context` is the job.
    static let run: ft_slice_fn = { context, i in
        context!.assumingMemoryBound(to: SliceJob.self).pointee.slice(Int(i))
    }
}

/// Carries a value across a concurrency boundary whose safety the caller guarantees
/// (here: slices write disjoint parts of shared buffers).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

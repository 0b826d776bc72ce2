import CSpinPool
import Foundation

/// The threads `Parallel.forEachSlice` runs its slices on: fttrain's own pool (`CSpinPool`), whose
/// workers spin for a bounded window after a slice before they park.
///
/// Why: one short text's forward pass dispatches several dozen slices back to back (each product's
/// column parts, attention heads, row-wise loops), each worth 10–100 µs. libdispatch's threads,
/// like any pool that sleeps on a condition variable, pay a wake-up of tens of µs per dispatch;
/// a worker still spinning from the previous slice starts the next one within a few hundred ns.
/// ONNX Runtime's intra-op pool spins the same way. A worker that saw no work for the spin window
/// parks on a futex, so an idle server (or the gaps between requests) costs no CPU, and a spinning
/// thread that finds it was preempted stops every thread's spinning for a second: on oversubscribed
/// cores spinning is far slower than parking (see `spin_pool.c`).
///
/// Results do not depend on the pool: slices are the same ranges whichever thread runs them.
public enum SlicePool {
    /// The spin window when neither `FTTRAIN_SPIN_US` nor `spinMicroseconds` says otherwise.
    public static let defaultSpinMicroseconds = 100

    nonisolated(unsafe) private static var configuredSpin: Int = {
        let value = ProcessInfo.processInfo.environment["FTTRAIN_SPIN_US"].flatMap(Int.init)
        return max(0, value ?? defaultSpinMicroseconds)
    }()

    /// The pool; its worker threads start when a dispatch first needs them, and stay.
    nonisolated(unsafe) static let pool: OpaquePointer = {
        // Up to 255 workers; wider dispatches fall back to libdispatch.
        guard let made = ft_pool_create(255) else { fatalError("could not allocate the slice-thread pool") }
        ft_pool_set_spin_ns(made, effectiveSpinNanoseconds)
        return made
    }()

    /// µs a worker spins for its next slice (and a dispatching thread for its workers) before
    /// parking: `FTTRAIN_SPIN_US`, else `defaultSpinMicroseconds`; 0 parks at once. No thread spins
    /// while `Parallel.threadCount` exceeds the cores (the spinning threads would take cores from
    /// the working ones).
    public static var spinMicroseconds: Int {
        get { configuredSpin }
        set {
            configuredSpin = max(0, newValue)
            threadsChanged()
        }
    }

    /// The window in effect, in ns.
    private static var effectiveSpinNanoseconds: Int {
        Parallel.threadCount > ProcessInfo.processInfo.activeProcessorCount ? 0 : configuredSpin * 1000
    }

    /// Applies the spin window again after `Parallel.threadCount` or `spinMicroseconds` changed.
    static func threadsChanged() { ft_pool_set_spin_ns(pool, effectiveSpinNanoseconds) }

    /// Whether small work (one text's attention heads, its layer-norm rows: 5–20 µs each) is
    /// spread over the threads: nil (the default) when the workers are spinning right now
    /// (`workersAreSpinning`), where handing a slice over costs under a µs; parked workers would
    /// cost a wake-up each, more than such work saves, and on busy cores the woken thread may wait
    /// for a core far longer. True or false forces it (tests). Results are the same either way.
    nonisolated(unsafe) public static var spreadsSmallWork: Bool? = nil

    /// Whether a dispatch now finds the workers spinning (none parked, spinning not suspended).
    public static var workersAreSpinning: Bool { ft_pool_is_hot(pool) != 0 }

    /// `spreadsSmallWork`'s answer now.
    static var spreadSmallWorkNow: Bool { spreadsSmallWork ?? workersAreSpinning }

    /// Worker threads started so far.
    public static var workerCount: Int { Int(ft_pool_worker_count(pool)) }

    /// Workers parked (asleep, using no CPU) right now.
    public static var parkedWorkers: Int { Int(ft_pool_parked_workers(pool)) }

    /// How many times workers have parked since the process started.
    public static var parks: Int { Int(ft_pool_parks(pool)) }

    /// How many times a spinning thread found it had been preempted (each stops spinning for 1 s).
    public static var preemptions: Int { Int(ft_pool_preemptions(pool)) }
}

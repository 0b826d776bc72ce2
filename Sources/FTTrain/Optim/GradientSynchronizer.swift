import FTCore
import FTModel
import Foundation

/// Averages the accumulated gradient across data-parallel ranks during an optimizer step.
///
/// `ClassificationStep` calls `beginStep` before the backward of the step's last micro-batch
/// (earlier micro-batches only accumulate locally, as DDP's `no_sync`), `gradientsReady(from:)`
/// as that backward finishes layers, and `finishStep` before clipping; when `finishStep`
/// returns, the whole buffer holds the average. Every rank makes the same calls in the same order.
public protocol GradientSynchronizer: AnyObject {
    /// At the start of a step, before any micro-batch: what the step will compute on.
    func prepareStep(_ microBatches: [ClassificationStep.Batch])
    /// Before the backward of the step's last micro-batch.
    func beginStep()
    /// Every gradient at buffer offset ≥ `offset` is final for this step.
    func gradientsReady(from offset: Int)
    /// Returns once every bucket is averaged; rethrows a communication failure.
    func finishStep() throws
    /// The dense buckets, in the order they are averaged.
    var buckets: GradientBuckets { get }
    /// The word embeddings, averaged over their touched rows after the dense buckets, if so configured.
    var sparseRows: SparseRowGradient? { get }
    /// Seconds `finishStep` spent waiting in the last step: the communication that backward did not hide.
    var lastWaitSeconds: Double { get }
}

/// The data-parallel gradient averaging of `store` over `world`: DDP-style buckets of
/// `bucketCapMB` MiB (the first one 1 MiB) in reverse layer order, overlapped with backward or
/// run after it; with `sparseEmbeddings` the model's word embeddings go last, only their touched rows.
public func makeGradientSynchronizer(
    world: TrainingWorld, model: any SequenceModel, overlap: Bool,
    bucketCapMB: Double, sparseEmbeddings: Bool = true
) -> GradientSynchronizer {
    let store = model.store
    let capacity = max(Int(bucketCapMB * 1024 * 1024 / 4), 1)
    let sparseRows = sparseEmbeddings ? model.tensorNames.sparseGradientTable.flatMap { SparseRowGradient(table: $0, of: store) } : nil
    let dense = store.views.compactMap(\.gradientRange).filter { $0 != sparseRows?.range }
    let buckets = GradientBuckets(
        tensors: dense, capacity: capacity,
        firstCapacity: min(GradientBuckets.defaultFirstCapacity, capacity))
    let gradients = store.gradients.baseAddress!
    return overlap
        ? OverlappedGradientSynchronizer(world: world, gradients: gradients, buckets: buckets, sparseRows: sparseRows)
        : BlockingGradientSynchronizer(world: world, gradients: gradients, buckets: buckets, sparseRows: sparseRows)
}

/// The all-reduce after backward: `finishStep` averages the buckets one after another.
public final class BlockingGradientSynchronizer: GradientSynchronizer {
    private let world: TrainingWorld
    private let gradients: UnsafeMutablePointer<Float>
    public let buckets: GradientBuckets
    public let sparseRows: SparseRowGradient?
    public private(set) var lastWaitSeconds: Double = 0

    public init(
        world: TrainingWorld, gradients: UnsafeMutablePointer<Float>, buckets: GradientBuckets,
        sparseRows: SparseRowGradient? = nil
    ) {
        self.world = world
        self.gradients = gradients
        self.buckets = buckets
        self.sparseRows = sparseRows
    }

    public func prepareStep(_ microBatches: [ClassificationStep.Batch]) { sparseRows?.prepare(microBatches) }
    public func beginStep() {}
    public func gradientsReady(from offset: Int) {}

    public func finishStep() throws {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { lastWaitSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let tracer = Tracer.current
        for (index, range) in buckets.ranges.enumerated() {
            let start = Tracer.now()
            try world.averageGradientsInPlace(gradients + range.lowerBound, count: range.count)
            tracer?.complete(
                "all-reduce bucket \(index)", category: "allreduce", since: start,
                arguments: ["bucket": Double(index), "elements": Double(range.count), "enqueued_us": start])
        }
        if let sparseRows {
            try tracer.span("all-reduce sparse rows", category: "allreduce") { try sparseRows.average(world: world, gradients: gradients) }
        }
    }
}

/// The all-reduce overlapped with backward (PyTorch DDP's reducer): a communication thread
/// averages each bucket as soon as backward has finished its gradients, while the main thread
/// goes on through earlier layers. Buckets are reduced in a fixed order on every rank, so the
/// collectives match across ranks; the main thread makes no collective call between
/// `beginStep` and the return of `finishStep`, so the world is used by one thread at a time
/// (`MPI_THREAD_SERIALIZED` suffices).
public final class OverlappedGradientSynchronizer: GradientSynchronizer, @unchecked Sendable {
    public let buckets: GradientBuckets
    public let sparseRows: SparseRowGradient?
    private let state: State
    public private(set) var lastWaitSeconds: Double = 0
    /// Buckets whose all-reduce had started before `finishStep` was called, in the last step.
    public private(set) var lastOverlappedBuckets = 0

    public init(
        world: TrainingWorld, gradients: UnsafeMutablePointer<Float>, buckets: GradientBuckets,
        sparseRows: SparseRowGradient? = nil
    ) {
        self.buckets = buckets
        self.sparseRows = sparseRows
        state = State(world: world, gradients: gradients, ranges: buckets.ranges, sparseRows: sparseRows)
        let thread = Thread { [state] in
            // Lowest priority: on a machine whose cores are all busy with compute (one rank per
            // core), the copying and polling of the all-reduce must not slow backward down; it
            // then runs mostly in `finishStep`, when the compute thread sleeps. Spare cores, or a
            // network that keeps it waiting, let it overlap.
            // Linux applies setpriority to one thread given its id ("PID/task/TID" from /proc).
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
                let threadID = link.split(separator: "/").last.flatMap({ id_t($0) })
            {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), threadID, 19)
            }
            state.run()
        }
        thread.name = "fttrain-allreduce"
        thread.start()
    }

    deinit { state.stop() }

    public func prepareStep(_ microBatches: [ClassificationStep.Batch]) { sparseRows?.prepare(microBatches) }

    public func beginStep() {
        state.withLock {
            state.queued = 0
            state.started = 0
            state.completed = 0
            state.failure = nil
        }
    }

    public func gradientsReady(from offset: Int) {
        var ready = buckets.readyCount(from: offset)
        // The sparse rows go last, once every dense bucket is released and the table is final.
        if let sparseRows, ready == buckets.ranges.count, offset <= sparseRows.range.lowerBound { ready += 1 }
        state.withLock {
            if ready > state.queued {
                let now = Tracer.now()
                for job in state.queued..<min(ready, state.enqueued.count) { state.enqueued[job] = now }
                state.queued = ready
                state.condition.broadcast()
            }
        }
    }

    public func finishStep() throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let total = state.jobCount
        let failure: Error? = state.withLock {
            lastOverlappedBuckets = state.started
            let now = Tracer.now()
            for job in state.queued..<total { state.enqueued[job] = now }
            state.queued = total
            state.condition.broadcast()
            while state.completed < total { state.condition.wait() }
            return state.failure
        }
        lastWaitSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if let failure { throw failure }
    }

    /// What the main thread and the communication thread share, guarded by `condition`.
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        let world: TrainingWorld
        let gradients: UnsafeMutablePointer<Float>
        let ranges: [Range<Int>]
        let sparseRows: SparseRowGradient?
        /// The dense buckets, then the sparse rows if any.
        var jobCount: Int { ranges.count + (sparseRows == nil ? 0 : 1) }
        /// Buckets released to the communication thread in this step (a prefix of `ranges`).
        var queued = 0
        /// Buckets the communication thread has taken up / finished in this step.
        var started = 0
        var completed = 0
        var failure: Error?
        var stopping = false
        /// When each job of this step was released (µs, `Tracer.now()`), for the trace.
        var enqueued: [Double]

        init(
            world: TrainingWorld, gradients: UnsafeMutablePointer<Float>, ranges: [Range<Int>],
            sparseRows: SparseRowGradient?
        ) {
            self.world = world
            self.gradients = gradients
            self.ranges = ranges
            self.sparseRows = sparseRows
            enqueued = [Double](repeating: 0, count: ranges.count + (sparseRows == nil ? 0 : 1))
        }

        func withLock<T>(_ body: () throws -> T) rethrows -> T {
            condition.lock()
            defer { condition.unlock() }
            return try body()
        }

        func stop() {
            withLock {
                stopping = true
                condition.broadcast()
            }
        }

        /// The communication thread: reduce each released bucket in order; after a failure the
        /// remaining buckets of the step are skipped (the step fails as a whole).
        func run() {
            while true {
                let next: Int? = withLock {
                    while completed == queued && !stopping { condition.wait() }
                    if stopping { return nil }
                    started = completed + 1
                    return failure == nil ? completed : -1
                }
                guard let index = next else { return }
                let start = Tracer.now()
                var error: Error?
                if index >= 0 {
                    do {
                        if index < ranges.count {
                            try world.averageGradientsInPlace(gradients + ranges[index].lowerBound, count: ranges[index].count)
                        } else {
                            try sparseRows?.average(world: world, gradients: gradients)
                        }
                    } catch let caught { error = caught }
                }
                if index >= 0, let tracer = Tracer.current {
                    let elements = index < ranges.count ? ranges[index].count : sparseRows?.range.count ?? 0
                    let enqueuedAt = withLock { enqueued[index] }
                    tracer.complete(
                        index < ranges.count ? "all-reduce bucket \(index)" : "all-reduce sparse rows", category: "allreduce",
                        track: .communication, since: start,
                        arguments: ["bucket": Double(index), "elements": Double(elements), "enqueued_us": enqueuedAt])
                }
                withLock {
                    if let error { failure = error }
                    completed += 1
                    condition.broadcast()
                }
            }
        }
    }
}

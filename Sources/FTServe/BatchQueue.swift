import FTCore
import FTModel
import FTTrain
import Foundation

/// Dynamic batching as text-embeddings-inference does it: requests from concurrent clients wait in
/// one queue, and a single compute thread (never one of NIO's event-loop threads) takes the oldest
/// request and every later one for the same weights and operation, up to `maxBatchTokens` tokens
/// (the sum of the texts' lengths) and `maxBatchRequests` texts, runs them as one forward pass
/// (sorted by length inside it), and resumes each request's continuation with its own rows.
/// No wait window unless `maxWait` > 0: then the oldest request waits up to that long for others.
/// Work (a generation, question answering) runs on the same thread alone, in its turn
/// (`submit(model:work:)`); the server gives its causal LMs a queue (and thread) of their own, so
/// a generation never holds up the encoders' requests.
///
/// A lone request on an idle queue (nothing queued or running, no wait window) runs at once on its
/// own task's thread instead of waking the compute thread and waiting to be woken back: the two
/// thread hops cost more than a short text's whole forward pass on a loaded machine (issue 16).
/// Requests that arrive meanwhile queue as usual, and the compute thread takes them when it is done:
/// one batch at a time runs either way, on the same code, so results are those of the queued path.
///
/// The forward passes themselves use fttrain's `Parallel` threads (`--threads`): one batch at a
/// time uses every core, and adapters over one base run one at a time (`AdapterSet` activates one).
public final class BatchQueue: @unchecked Sendable {
    /// What a request asks of its model.
    enum Operation: Equatable {
        case classify
        /// A token classifier's entities (the job carries its texts).
        case entities
        /// One (pooling, normalize) per text.
        case embed(SentencePooling, Bool)

        var isClassify: Bool { self == .classify }
        /// Operations that run as one forward pass together (embeddings of any pooling batch).
        var batchKey: Int {
            switch self {
            case .classify: 0
            case .entities: 1
            case .embed: 2
            }
        }
    }

    /// The rows (or entities) computed for one request, and how long it queued and ran.
    struct Result {
        /// Probabilities or embeddings, one row per text (empty for `.entities`).
        var rows: [[Float]]
        /// Entities per text (`.entities` only).
        var entities: [[PredictedEntity]] = []
        var queueSeconds: Double
        var inferenceSeconds: Double
        /// Monotonic nanoseconds: queued, its batch started, its batch done (`ServeStages`).
        var enqueued: UInt64 = 0
        var started: UInt64 = 0
        var finished: UInt64 = 0

        /// Stamps the request's queue and compute stages, and its resumption now.
        func stamp(_ state: RequestState) {
            guard state.stamps != nil else { return }
            state.stamp(.enqueued, at: enqueued)
            state.stamp(.computeStarted, at: started)
            state.stamp(.forwardDone, at: finished)
            state.stamp(.resumed)
        }
    }

    private final class Job: @unchecked Sendable {
        let model: ServedModel
        let operation: Operation
        let encodings: [TokenizerEncoding]
        /// The raw texts, for `.entities` (empty otherwise).
        let texts: [String]
        let tokens: Int
        let enqueued: UInt64
        /// Set before the job is queued (nil while it runs inline).
        var continuation: CheckedContinuation<Result, any Error>?

        init(model: ServedModel, operation: Operation, encodings: [TokenizerEncoding], texts: [String]) {
            self.model = model
            self.operation = operation
            self.encodings = encodings
            self.texts = texts
            self.tokens = encodings.reduce(0) { $0 + $1.inputIds.count }
            self.enqueued = DispatchTime.now().uptimeNanoseconds
        }

        /// Jobs batch together when they run on the same weights (and adapter) and pass.
        func batches(with other: Job) -> Bool {
            model.backend === other.model.backend && model.adapterName == other.model.adapterName
                && operation.batchKey == other.operation.batchKey
        }
    }

    /// Work that runs on the compute thread alone: a generation (token by token, streaming).
    private final class Work {
        let model: String
        let enqueued: UInt64
        let run: () -> Void

        init(model: String, run: @escaping () -> Void) {
            self.model = model
            self.enqueued = DispatchTime.now().uptimeNanoseconds
            self.run = run
        }
    }

    /// What waits for the compute thread, in arrival order.
    private enum Entry {
        case job(Job)
        case work(Work)

        var job: Job? {
            if case .job(let job) = self { return job }
            return nil
        }
    }

    private let condition = NSCondition()
    private var entries: [Entry] = []
    private var stopping = false
    /// A batch or work is running (on the compute thread, or inline on a request's thread).
    private var busy = false
    private var inlineRuns = 0
    private var thread: Thread?
    private let maxBatchTokens: Int
    private let maxBatchRequests: Int
    private let maxWaitNanoseconds: UInt64
    private let metrics: ServeMetrics?
    private let name: String
    /// Whether a lone request on an idle queue runs on its own thread (see the type's comment).
    let runsIdleRequestsInline: Bool

    /// - Parameters:
    ///   - name: the compute thread's name suffix (`fttrain-serve-NAME`).
    ///   - runsIdleRequestsInline: false keeps every request on the compute thread (the tests
    ///     compare both paths); requests never run inline with a wait window.
    public init(
        maxBatchTokens: Int, maxBatchRequests: Int, maxWaitMilliseconds: Int, metrics: ServeMetrics?, name: String = "compute",
        runsIdleRequestsInline: Bool = true
    ) {
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchRequests = maxBatchRequests
        self.maxWaitNanoseconds = UInt64(maxWaitMilliseconds) * 1_000_000
        self.metrics = metrics
        self.name = name
        self.runsIdleRequestsInline = runsIdleRequestsInline && maxWaitMilliseconds == 0
    }

    /// Starts the compute thread.
    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "fttrain-serve-\(name)"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// How many requests ran inline so far (the others were batched on the compute thread).
    var inlineRunCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return inlineRuns
    }

    /// Lets the compute thread finish the queued requests, then end.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `encodings` of `model` and waits (without blocking a thread) for their rows; `.entities`
    /// also takes the raw `texts` (one per encoding, which only counts the tokens).
    func submit(model: ServedModel, operation: Operation, encodings: [TokenizerEncoding], texts: [String] = []) async throws -> Result {
        precondition(operation != .entities || texts.count == encodings.count, "entities need one text per encoding")
        let job = Job(model: model, operation: operation, encodings: encodings, texts: texts)
        if try beginInline(job) { return try runInline(job) }
        return try await withCheckedThrowingContinuation { continuation in
            job.continuation = continuation
            condition.lock()
            if stopping {
                condition.unlock()
                continuation.resume(throwing: ServeError(.unavailable, "the server is shutting down"))
                return
            }
            entries.append(.job(job))
            metrics?.queueDepth(model: model.name, delta: 1)
            condition.signal()
            condition.unlock()
        }
    }

    /// Whether `job` may run inline now (idle queue); if so the queue is marked busy and the job counted.
    /// - Throws: `ServeError` unavailable once the queue is stopping.
    private func beginInline(_ job: Job) throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw ServeError(.unavailable, "the server is shutting down") }
        guard runsIdleRequestsInline, !busy, entries.isEmpty else { return false }
        busy = true
        inlineRuns += 1
        metrics?.queueDepth(model: job.model.name, delta: 1)
        return true
    }

    /// Runs `job` alone on the calling thread, then hands the queue back to the compute thread.
    private func runInline(_ job: Job) throws -> Result {
        let outcome = compute([job])[0]
        condition.lock()
        busy = false
        if !entries.isEmpty { condition.signal() }  // requests that came meanwhile
        condition.unlock()
        return try outcome.get()
    }

    /// Queues `work` to run on the compute thread alone, in arrival order with the batches (a
    /// generation: it resumes its request itself). Counted in `model`'s queue depth until it ends.
    /// - Throws: `ServeError` unavailable once the queue is stopping.
    func submit(model: String, work: @escaping () -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw ServeError(.unavailable, "the server is shutting down") }
        entries.append(.work(Work(model: model, run: work)))
        metrics?.queueDepth(model: model, delta: 1)
        condition.signal()
    }

    /// The compute thread: take a batch (or a work), run it, answer its requests; until stopped and empty.
    private func loop() {
        while let next = nextEntry() {
            switch next {
            case .job(let first):
                let batch = takeBatch(startingWith: first)
                let outcomes = compute(batch)
                idle()  // before resuming: a client's next request may then run inline at once
                for (job, outcome) in zip(batch, outcomes) { job.continuation?.resume(with: outcome) }
            case .work(let work):
                work.run()
                metrics?.queueDepth(model: work.model, delta: -1)
                idle()
            }
        }
    }

    private func idle() {
        condition.lock()
        busy = false
        condition.unlock()
    }

    /// Waits for the oldest entry while nothing runs inline; a job is returned once its batch may
    /// start (full, or its wait window over), still queued, for `takeBatch`. Marks the queue busy.
    private func nextEntry() -> Entry? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while entries.isEmpty || busy {
                if stopping && entries.isEmpty { return nil }  // (an inline request needs no thread)
                condition.wait()
            }
            guard let first = entries[0].job else {
                busy = true
                return entries.removeFirst()
            }
            let deadline = first.enqueued + maxWaitNanoseconds
            let now = DispatchTime.now().uptimeNanoseconds
            if maxWaitNanoseconds > 0, now < deadline, !batchIsFull(startingWith: first) {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
                continue
            }
            busy = true
            return entries[0]
        }
    }

    /// The queued jobs that batch with `first` (itself included), oldest first, within the limits.
    private func batchIndices(startingWith first: Job) -> (indices: [Int], full: Bool) {
        var taken: [Int] = []
        var texts = 0, tokens = 0
        for (i, entry) in entries.enumerated() {
            guard let job = entry.job, job.batches(with: first) else { continue }
            if !taken.isEmpty && (texts + job.encodings.count > maxBatchRequests || tokens + job.tokens > maxBatchTokens) {
                return (taken, true)
            }
            taken.append(i)
            texts += job.encodings.count
            tokens += job.tokens
        }
        return (taken, texts >= maxBatchRequests || tokens >= maxBatchTokens)
    }

    private func batchIsFull(startingWith first: Job) -> Bool { batchIndices(startingWith: first).full }

    /// Removes and returns the batch that starts with the queue's first job.
    private func takeBatch(startingWith first: Job) -> [Job] {
        condition.lock()
        defer { condition.unlock() }
        let indices = batchIndices(startingWith: first).indices
        let batch = indices.compactMap { entries[$0].job }
        for i in indices.reversed() { entries.remove(at: i) }
        return batch
    }

    /// One forward pass over every text of `batch`, sorted by length: each job's rows, in order
    /// (or the error they all failed with). Counts the batch in the metrics and the jobs out of the
    /// queue depth.
    private func compute(_ batch: [Job]) -> [Swift.Result<Result, any Error>] {
        let started = DispatchTime.now().uptimeNanoseconds
        let model = batch[0].model
        var encodings: [TokenizerEncoding] = []
        var texts: [String] = []
        var embedSettings: [(SentencePooling, Bool)] = []
        var owners: [(job: Int, row: Int)] = []
        for (j, job) in batch.enumerated() {
            for (r, encoding) in job.encodings.enumerated() {
                encodings.append(encoding)
                if job.operation == .entities { texts.append(job.texts[r]) }
                owners.append((j, r))
                if case .embed(let pooling, let normalize) = job.operation { embedSettings.append((pooling, normalize)) }
            }
        }
        let order = encodings.indices.sorted { encodings[$0].inputIds.count > encodings[$1].inputIds.count }
        let sorted = order.map { encodings[$0] }
        let tokens = encodings.reduce(0) { $0 + $1.inputIds.count }
        do {
            var answers = batch.map { [[Float]](repeating: [], count: $0.encodings.count) }
            var entities = batch.map { [[PredictedEntity]](repeating: [], count: $0.operation == .entities ? $0.encodings.count : 0) }
            switch batch[0].operation {
            case .entities:
                let found = try model.entities(order.map { texts[$0] })
                for (position, index) in order.enumerated() { entities[owners[index].job][owners[index].row] = found[position] }
            case .classify, .embed:
                let rows =
                    batch[0].operation.isClassify
                    ? try model.classify(sorted) : try model.embed(sorted, pooling: order.map { embedSettings[$0] })
                for (position, index) in order.enumerated() { answers[owners[index].job][owners[index].row] = rows[position] }
            }
            let finished = DispatchTime.now().uptimeNanoseconds
            metrics?.batch(model: model.name, size: encodings.count, tokens: tokens)
            return batch.enumerated().map { j, job in
                metrics?.queueDepth(model: job.model.name, delta: -1)
                return .success(
                    Result(
                        rows: answers[j], entities: entities[j], queueSeconds: Double(started - job.enqueued) / 1e9,
                        inferenceSeconds: Double(finished - started) / 1e9, enqueued: job.enqueued, started: started, finished: finished))
            }
        } catch {
            return batch.map { job in
                metrics?.queueDepth(model: job.model.name, delta: -1)
                return .failure(ServeError(.internal, "inference failed: \(error)"))
            }
        }
    }
}

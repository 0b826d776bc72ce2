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
/// A generation runs on the same thread alone, in its turn (`submit(model:work:)`).
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
    }

    private final class Job {
        let model: ServedModel
        let operation: Operation
        let encodings: [TokenizerEncoding]
        /// The raw texts, for `.entities` (empty otherwise).
        let texts: [String]
        let tokens: Int
        let enqueued: UInt64
        let continuation: CheckedContinuation<Result, any Error>

        init(
            model: ServedModel, operation: Operation, encodings: [TokenizerEncoding], texts: [String],
            continuation: CheckedContinuation<Result, any Error>
        ) {
            self.model = model
            self.operation = operation
            self.encodings = encodings
            self.texts = texts
            self.tokens = encodings.reduce(0) { $0 + $1.inputIds.count }
            self.enqueued = DispatchTime.now().uptimeNanoseconds
            self.continuation = continuation
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
    private var thread: Thread?
    private let maxBatchTokens: Int
    private let maxBatchRequests: Int
    private let maxWaitNanoseconds: UInt64
    private let metrics: ServeMetrics?

    public init(maxBatchTokens: Int, maxBatchRequests: Int, maxWaitMilliseconds: Int, metrics: ServeMetrics?) {
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchRequests = maxBatchRequests
        self.maxWaitNanoseconds = UInt64(maxWaitMilliseconds) * 1_000_000
        self.metrics = metrics
    }

    /// Starts the compute thread.
    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "fttrain-serve-compute"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
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
        return try await withCheckedThrowingContinuation { continuation in
            let job = Job(model: model, operation: operation, encodings: encodings, texts: texts, continuation: continuation)
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
            case .job(let first): run(takeBatch(startingWith: first))
            case .work(let work):
                work.run()
                metrics?.queueDepth(model: work.model, delta: -1)
            }
        }
    }

    /// Waits for the oldest entry; a job is returned once its batch may start (full, or its wait
    /// window over), still queued, for `takeBatch`.
    private func nextEntry() -> Entry? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while entries.isEmpty {
                if stopping { return nil }
                condition.wait()
            }
            guard let first = entries[0].job else { return entries.removeFirst() }
            let deadline = first.enqueued + maxWaitNanoseconds
            let now = DispatchTime.now().uptimeNanoseconds
            if maxWaitNanoseconds > 0, now < deadline, !batchIsFull(startingWith: first) {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
                continue
            }
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

    /// One forward pass over every text of `batch`, sorted by length; each job gets its rows.
    private func run(_ batch: [Job]) {
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
            for (j, job) in batch.enumerated() {
                metrics?.queueDepth(model: job.model.name, delta: -1)
                job.continuation.resume(
                    returning: Result(
                        rows: answers[j], entities: entities[j], queueSeconds: Double(started - job.enqueued) / 1e9,
                        inferenceSeconds: Double(finished - started) / 1e9))
            }
        } catch {
            for job in batch {
                metrics?.queueDepth(model: job.model.name, delta: -1)
                job.continuation.resume(throwing: ServeError(.internal, "inference failed: \(error)"))
            }
        }
    }
}

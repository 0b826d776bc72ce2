import FTCore
import FTModel
import Foundation

/// Dynamic batching as text-embeddings-inference does it: requests from concurrent clients wait in
/// one queue, and a single compute thread (never one of NIO's event-loop threads) takes the oldest
/// request and every later one for the same weights and operation, up to `maxBatchTokens` tokens
/// (the sum of the texts' lengths) and `maxBatchRequests` texts, runs them as one forward pass
/// (sorted by length inside it), and resumes each request's continuation with its own rows.
/// No wait window unless `maxWait` > 0: then the oldest request waits up to that long for others.
///
/// The forward passes themselves use fttrain's `Parallel` threads (`--threads`): one batch at a
/// time uses every core, and adapters over one base run one at a time (`AdapterSet` activates one).
public final class BatchQueue: @unchecked Sendable {
    /// What a request asks of its model.
    enum Operation: Equatable {
        case classify
        /// One (pooling, normalize) per text.
        case embed(SentencePooling, Bool)

        var isClassify: Bool { self == .classify }
    }

    /// The rows computed for one request, and how long it queued and ran.
    struct Result {
        var rows: [[Float]]
        var queueSeconds: Double
        var inferenceSeconds: Double
    }

    private final class Job {
        let model: ServedModel
        let operation: Operation
        let encodings: [TokenizerEncoding]
        let tokens: Int
        let enqueued: UInt64
        let continuation: CheckedContinuation<Result, any Error>

        init(model: ServedModel, operation: Operation, encodings: [TokenizerEncoding], continuation: CheckedContinuation<Result, any Error>) {
            self.model = model
            self.operation = operation
            self.encodings = encodings
            self.tokens = encodings.reduce(0) { $0 + $1.inputIds.count }
            self.enqueued = DispatchTime.now().uptimeNanoseconds
            self.continuation = continuation
        }

        /// Jobs batch together when they run on the same weights (and adapter) and pass.
        func batches(with other: Job) -> Bool {
            model.backend === other.model.backend && model.adapterName == other.model.adapterName
                && operation.isClassify == other.operation.isClassify
        }
    }

    private let condition = NSCondition()
    private var jobs: [Job] = []
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

    /// Queues `encodings` of `model` and waits (without blocking a thread) for their rows.
    func submit(model: ServedModel, operation: Operation, encodings: [TokenizerEncoding]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(model: model, operation: operation, encodings: encodings, continuation: continuation)
            condition.lock()
            if stopping {
                condition.unlock()
                continuation.resume(throwing: ServeError(.unavailable, "the server is shutting down"))
                return
            }
            jobs.append(job)
            metrics?.queueDepth(model: model.name, delta: 1)
            condition.signal()
            condition.unlock()
        }
    }

    /// The compute thread: take a batch, run it, answer its requests; until stopped and empty.
    private func loop() {
        while let batch = nextBatch() { run(batch) }
    }

    /// Waits for the next batch: the oldest job and the later ones that batch with it, within the limits.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while jobs.isEmpty {
                if stopping { return nil }
                condition.wait()
            }
            var taken: [Int] = []
            var texts = 0, tokens = 0
            for (i, job) in jobs.enumerated() where job.batches(with: jobs[0]) {
                if !taken.isEmpty && (texts + job.encodings.count > maxBatchRequests || tokens + job.tokens > maxBatchTokens) { break }
                taken.append(i)
                texts += job.encodings.count
                tokens += job.tokens
            }
            // A wait window: hold a batch that has room until the oldest job has waited maxWait.
            let full = texts >= maxBatchRequests || tokens >= maxBatchTokens || taken.count < jobs.filter { $0.batches(with: jobs[0]) }.count
            let deadline = jobs[0].enqueued + maxWaitNanoseconds
            let now = DispatchTime.now().uptimeNanoseconds
            if maxWaitNanoseconds > 0, !full, now < deadline {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
                continue
            }
            let batch = taken.map { jobs[$0] }
            for i in taken.reversed() { jobs.remove(at: i) }
            return batch
        }
    }

    /// One forward pass over every text of `batch`, sorted by length; each job gets its rows.
    private func run(_ batch: [Job]) {
        let started = DispatchTime.now().uptimeNanoseconds
        let model = batch[0].model
        var encodings: [TokenizerEncoding] = []
        var embedSettings: [(SentencePooling, Bool)] = []
        var owners: [(job: Int, row: Int)] = []
        for (j, job) in batch.enumerated() {
            for (r, encoding) in job.encodings.enumerated() {
                encodings.append(encoding)
                owners.append((j, r))
                if case .embed(let pooling, let normalize) = job.operation { embedSettings.append((pooling, normalize)) }
            }
        }
        let order = encodings.indices.sorted { encodings[$0].inputIds.count > encodings[$1].inputIds.count }
        let sorted = order.map { encodings[$0] }
        let tokens = encodings.reduce(0) { $0 + $1.inputIds.count }
        do {
            let rows =
                batch[0].operation.isClassify
                ? try model.classify(sorted) : try model.embed(sorted, pooling: order.map { embedSettings[$0] })
            let finished = DispatchTime.now().uptimeNanoseconds
            var answers = batch.map { [[Float]](repeating: [], count: $0.encodings.count) }
            for (position, index) in order.enumerated() { answers[owners[index].job][owners[index].row] = rows[position] }
            metrics?.batch(model: model.name, size: encodings.count, tokens: tokens)
            for (j, job) in batch.enumerated() {
                metrics?.queueDepth(model: job.model.name, delta: -1)
                job.continuation.resume(
                    returning: Result(
                        rows: answers[j], queueSeconds: Double(started - job.enqueued) / 1e9,
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

import FTCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `fttrain serve`: loads the models, starts the compute thread and the Hummingbird server, and runs
/// until SIGTERM/SIGINT (or `shutdown()`), when it stops accepting connections, finishes the
/// requests in flight and returns.
public final class ServeServer: @unchecked Sendable {
    public let configuration: ServeConfiguration
    public let models: [ServedModel]
    public let generators: [ServedGenerator]
    public let metrics = ServeMetrics()
    /// Per-request stage timings (`FTTRAIN_SERVE_STAGES=1`), printed to standard error when the server stops.
    public let stages = ServeStages()
    public let limits: ServeLimits
    /// The encoders' batches (and question answering) on one compute thread; a lone request on an
    /// idle queue runs inline (`FTTRAIN_SERVE_INLINE=0` keeps every request on the compute thread,
    /// to measure the difference).
    let queue: BatchQueue
    /// The causal LMs' generations on a compute thread of their own, so that a generation (seconds)
    /// never holds up an encoder's requests (milliseconds); the two share the cores meanwhile.
    let generationQueue: BatchQueue
    private let ab: ABServe
    private let lock = NSLock()
    private var group: ServiceGroup?

    /// Loads every model and adapter of `configuration` (which is validated first).
    /// - Throws: `ServeSetupError` or a loader's error naming the file and the problem.
    public init(configuration: ServeConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        if let threads = configuration.threads { Parallel.threadCount = threads }
        models = try ServedModel.loadAll(configuration)
        generators = try ServedGenerator.loadAll(configuration)
        limits = ServeLimits(
            maxConcurrentRequests: configuration.maxConcurrentRequests, maxBodyBytes: configuration.maxBodyBytes,
            maxInputs: configuration.maxInputs, truncate: configuration.truncate)
        queue = BatchQueue(
            maxBatchTokens: configuration.maxBatchTokens, maxBatchRequests: configuration.maxBatchRequests,
            maxWaitMilliseconds: configuration.maxWaitMilliseconds, metrics: metrics,
            runsIdleRequestsInline: ProcessInfo.processInfo.environment["FTTRAIN_SERVE_INLINE"] != "0")
        generationQueue = BatchQueue(
            maxBatchTokens: configuration.maxBatchTokens, maxBatchRequests: configuration.maxBatchRequests,
            maxWaitMilliseconds: 0, metrics: metrics, name: "generation")
        metrics.register(models: models.map(\.name) + generators.map(\.name))
        ab = try ABServe.make(configuration, models: models, metrics: metrics)
    }

    /// Serves until shut down. `onListening(host, port)` is called once the socket listens (with
    /// the port the system picked when the configuration's port is 0). `handleSignals`: SIGTERM
    /// and SIGINT start the graceful shutdown (the command; tests call `shutdown()`).
    public func run(handleSignals: Bool = true, onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let router = Router(context: ServeRequestContext.self)
        router.middlewares.add(ServeMiddleware(limits: limits, metrics: metrics, stages: stages))
        var routesJSON = "{"
        routesJSON += configuration.routes.keys.sorted().map { "\(JSONText.string($0)): \(configuration.routes[$0]!)" }.joined(separator: ", ")
        routesJSON += "}"
        ServeRoutes(
            models: Dictionary(uniqueKeysWithValues: models.map { ($0.name, $0) }),
            generators: Dictionary(uniqueKeysWithValues: generators.map { ($0.name, $0) }),
            names: configuration.models.map(\.name) + configuration.adapters.map(\.name), queue: queue,
            generationQueue: generationQueue, limits: limits, metrics: metrics, routesJSON: routesJSON, ab: ab
        ).add(to: router)
        ab.add(to: router)
        var logger = Logger(label: "fttrain-serve") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let host = configuration.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? 0) },
            logger: logger)
        // Shut down in reverse order: the watcher first (health turns 503), then the server,
        // which stops accepting and waits for the requests in flight.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: app), .init(service: DrainWatcher(limits: limits))],
                gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [], logger: logger))
        lock.withLock { self.group = group }
        queue.start()
        if !generators.isEmpty { generationQueue.start() }
        defer {
            queue.stop()
            generationQueue.stop()
            if ServeStages.enabled { FileHandle.standardError.write(Data((stages.summary() + "\n").utf8)) }
        }
        try await group.run()
    }

    /// Starts the graceful shutdown, as SIGTERM does.
    public func shutdown() async {
        let group = lock.withLock { self.group }
        await group?.triggerGracefulShutdown()
    }
}

/// Marks the server as draining when the graceful shutdown begins, so `/health` answers 503.
private struct DrainWatcher: Service {
    let limits: ServeLimits

    func run() async throws {
        try? await gracefulShutdown()
        limits.draining = true
    }
}

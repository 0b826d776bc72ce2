import Foundation

/// A `Communicator` whose ranks are threads of one process: the test double for the MPI
/// implementation, so collectives run under `swift test` without `mpirun`.
///
/// Messages are copied into a FIFO mailbox per (source, destination, tag), so `send` returns at
/// once and the sender may reuse its buffer (buffered send); `sendReceive` is send-then-receive,
/// which cannot deadlock in a ring for that reason. A receive waits at most `receiveTimeout`
/// seconds and then throws naming the peer, so a missing rank fails a test instead of hanging it.
/// When a rank run by `run(size:receiveTimeout:_:)` throws, the world is aborted: every blocked
/// receive and barrier wakes and throws `.aborted`.
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Seconds a `receive` or `barrier` waits before throwing `.timeout`.
    public let receiveTimeout: TimeInterval
    let world: InProcessWorld

    init(rank: Int, world: InProcessWorld, receiveTimeout: TimeInterval) {
        self.rank = rank
        self.size = world.size
        self.world = world
        self.receiveTimeout = receiveTimeout
    }

    /// Creates a world of `size` connected ranks; element `i` is rank `i`.
    public static func makeWorld(size: Int, receiveTimeout: TimeInterval = 60) -> [InProcessCommunicator] {
        precondition(size >= 1, "a world needs at least one rank")
        let world = InProcessWorld(size: size)
        return (0..<size).map { InProcessCommunicator(rank: $0, world: world, receiveTimeout: receiveTimeout) }
    }

    /// Runs `body` once per rank, each on its own thread, waits for all, and returns the results in
    /// rank order. If any rank throws, the world is aborted (blocked ranks wake with `.aborted`)
    /// and the first error thrown is rethrown.
    public static func run<T: Sendable>(
        size: Int, receiveTimeout: TimeInterval = 60,
        _ body: @Sendable (InProcessCommunicator) throws -> T
    ) throws -> [T] {
        let communicators = makeWorld(size: size, receiveTimeout: receiveTimeout)
        return try run(communicators, body)
    }

    /// Runs `body` on one thread per communicator of an existing world (see `run(size:...)`).
    public static func run<T: Sendable>(
        _ communicators: [InProcessCommunicator],
        _ body: @Sendable (InProcessCommunicator) throws -> T
    ) throws -> [T] {
        let collector = ResultCollector<T>(count: communicators.count)
        withoutActuallyEscaping(body) { escapableBody in
            // Safe: every thread has run `body` before this closure returns (collector.waitAll()),
            // and the holder drops its reference then, so nothing outlives the call.
            let shared = BodyHolder(escapableBody)
            defer { shared.release() }
            for communicator in communicators {
                let thread = Thread {
                    do {
                        let value = try shared.call(communicator)
                        collector.finish(rank: communicator.rank, result: .success(value))
                    } catch {
                        // Record first, so the cause precedes the `.aborted` errors it triggers.
                        collector.finish(rank: communicator.rank, result: .failure(error))
                        communicator.world.abort(reason: "rank \(communicator.rank) failed: \(error)")
                    }
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            collector.waitAll()
        }
        return try collector.results()
    }

    // MARK: Point to point

    public func send(_ buffer: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws {
        try check(peer: peer, count: count, operation: "send")
        world.inboxes[peer].post(from: rank, tag: tag, buffer, count: count)
    }

    public func receive(_ buffer: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws {
        try check(peer: peer, count: count, operation: "receive")
        try world.inboxes[rank].take(
            from: peer, tag: tag, into: buffer, count: count,
            timeout: receiveTimeout, receiver: rank)
    }

    public func sendReceive(
        send sendBuffer: UnsafePointer<Float>, sendCount: Int, to destination: Int,
        receive receiveBuffer: UnsafeMutablePointer<Float>, receiveCount: Int,
        from source: Int, tag: Int
    ) throws {
        // Sends are buffered, so sending first cannot block on the peer.
        try send(sendBuffer, count: sendCount, to: destination, tag: tag)
        try receive(receiveBuffer, count: receiveCount, from: source, tag: tag)
    }

    public func barrier() throws {
        try world.barrier(rank: rank, timeout: receiveTimeout)
    }

    public func probe(from peer: Int, tag: Int) throws -> Int? {
        try check(peer: peer, count: 0, operation: "probe")
        return world.inboxes[rank].pendingCount(from: peer, tag: tag)
    }

    private func check(peer: Int, count: Int, operation: String) throws {
        guard (0..<size).contains(peer) else {
            throw CommunicatorError(
                .invalidArgument, peer: peer, operation: operation,
                message: "rank \(rank): peer \(peer) is outside 0..<\(size)")
        }
        guard count >= 0 else {
            throw CommunicatorError(
                .invalidArgument, peer: peer, operation: operation,
                message: "rank \(rank): negative count \(count)")
        }
    }
}

// MARK: - The shared state of one world

/// Mailboxes and barrier state shared by the ranks of one in-process world.
final class InProcessWorld: @unchecked Sendable {
    let size: Int
    /// `inboxes[d]` holds every message addressed to rank `d`.
    let inboxes: [Inbox]
    private let barrierCondition = NSCondition()
    private var barrierArrived = 0
    private var barrierGeneration = 0
    private var abortReason: String?

    init(size: Int) {
        self.size = size
        self.inboxes = (0..<size).map { _ in Inbox() }
    }

    /// Wakes every blocked receive and barrier; they throw `.aborted` with `reason`.
    func abort(reason: String) {
        for inbox in inboxes { inbox.abort(reason: reason) }
        barrierCondition.lock()
        if abortReason == nil { abortReason = reason }
        barrierCondition.broadcast()
        barrierCondition.unlock()
    }

    func barrier(rank: Int, timeout: TimeInterval) throws {
        barrierCondition.lock()
        defer { barrierCondition.unlock() }
        if let abortReason {
            throw CommunicatorError(.aborted, operation: "barrier", message: "rank \(rank): \(abortReason)")
        }
        let generation = barrierGeneration
        barrierArrived += 1
        if barrierArrived == size {
            barrierArrived = 0
            barrierGeneration += 1
            barrierCondition.broadcast()
            return
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while barrierGeneration == generation {
            if let abortReason {
                throw CommunicatorError(.aborted, operation: "barrier", message: "rank \(rank): \(abortReason)")
            }
            if !barrierCondition.wait(until: deadline) && barrierGeneration == generation {
                throw CommunicatorError(
                    .timeout, operation: "barrier",
                    message: "rank \(rank) waited \(timeout) s; \(barrierArrived) of \(size) ranks arrived")
            }
        }
    }
}

/// The messages addressed to one rank: a FIFO queue per (source, tag), plus a small pool of
/// message buffers so steady-state traffic (the ring's fixed-size segments) allocates nothing.
final class Inbox: @unchecked Sendable {
    struct Key: Hashable {
        var source: Int
        var tag: Int
    }
    struct Message {
        var storage: UnsafeMutableBufferPointer<Float>
        var count: Int
    }

    private let condition = NSCondition()
    private var queues: [Key: [Message]] = [:]
    private var pool: [UnsafeMutableBufferPointer<Float>] = []
    private var abortReason: String?
    private static let poolLimit = 8

    deinit {
        for queue in queues.values { for message in queue { message.storage.deallocate() } }
        for storage in pool { storage.deallocate() }
    }

    func abort(reason: String) {
        condition.lock()
        if abortReason == nil { abortReason = reason }
        condition.broadcast()
        condition.unlock()
    }

    /// Copies `count` floats into a new message (the caller may reuse `buffer` at once).
    func post(from source: Int, tag: Int, _ buffer: UnsafePointer<Float>, count: Int) {
        condition.lock()
        var storage: UnsafeMutableBufferPointer<Float>?
        if let index = pool.firstIndex(where: { $0.count >= count }) {
            storage = pool.remove(at: index)
        }
        condition.unlock()
        let message = storage ?? .allocate(capacity: max(count, 1))
        if count > 0 { message.baseAddress!.update(from: buffer, count: count) }

        condition.lock()
        queues[Key(source: source, tag: tag), default: []].append(Message(storage: message, count: count))
        condition.broadcast()
        condition.unlock()
    }

    /// The float count of the oldest message from (`source`, `tag`), if one is queued.
    func pendingCount(from source: Int, tag: Int) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        return queues[Key(source: source, tag: tag)]?.first?.count
    }

    /// Waits for the oldest message from (`source`, `tag`) and copies it into `buffer`.
    func take(
        from source: Int, tag: Int, into buffer: UnsafeMutablePointer<Float>, count: Int,
        timeout: TimeInterval, receiver: Int
    ) throws {
        let key = Key(source: source, tag: tag)
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        var message: Message?
        while message == nil {
            if var queue = queues[key], !queue.isEmpty {
                message = queue.removeFirst()
                queues[key] = queue.isEmpty ? nil : queue
                break
            }
            if let abortReason {
                condition.unlock()
                throw CommunicatorError(
                    .aborted, peer: source, operation: "receive",
                    message: "rank \(receiver): \(abortReason)")
            }
            if !condition.wait(until: deadline), queues[key]?.isEmpty ?? true {
                condition.unlock()
                throw CommunicatorError(
                    .timeout, peer: source, operation: "receive",
                    message: "rank \(receiver) timed out after \(timeout) s waiting for "
                        + "\(count) floats from rank \(source) (tag \(tag))")
            }
        }
        condition.unlock()

        let received = message!
        defer { recycle(received.storage) }
        guard received.count == count else {
            throw CommunicatorError(
                .sizeMismatch, peer: source, operation: "receive",
                message: "rank \(receiver) expected \(count) floats from rank \(source) "
                    + "(tag \(tag)) but the message holds \(received.count)")
        }
        if count > 0 { buffer.update(from: received.storage.baseAddress!, count: count) }
    }

    private func recycle(_ storage: UnsafeMutableBufferPointer<Float>) {
        condition.lock()
        if pool.count < Self.poolLimit {
            pool.append(storage)
            condition.unlock()
        } else {
            condition.unlock()
            storage.deallocate()
        }
    }
}

// MARK: - Thread plumbing for `run`

/// Holds the rank body while `run` waits; released afterwards even if `Thread` objects linger.
private final class BodyHolder<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var body: ((InProcessCommunicator) throws -> T)?
    init(_ body: @escaping (InProcessCommunicator) throws -> T) { self.body = body }

    func call(_ communicator: InProcessCommunicator) throws -> T {
        lock.lock()
        let body = self.body!
        lock.unlock()
        return try body(communicator)
    }

    func release() {
        lock.lock()
        body = nil
        lock.unlock()
    }
}

/// Collects per-rank results and lets the caller wait until every rank has finished.
private final class ResultCollector<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var slots: [Result<T, any Error>?]
    private var finished = 0
    /// Errors in the order they were thrown: the first is the cause, later ones are usually `.aborted`.
    private var errors: [any Error] = []

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func finish(rank: Int, result: Result<T, any Error>) {
        condition.lock()
        slots[rank] = result
        if case .failure(let error) = result { errors.append(error) }
        finished += 1
        condition.broadcast()
        condition.unlock()
    }

    func waitAll() {
        condition.lock()
        while finished < slots.count { condition.wait() }
        condition.unlock()
    }

    func results() throws -> [T] {
        condition.lock()
        defer { condition.unlock() }
        let isAbort = { (error: any Error) in (error as? CommunicatorError)?.kind == .aborted }
        if let cause = errors.first(where: { !isAbort($0) }) ?? errors.first { throw cause }
        return try slots.map { try $0!.get() }
    }
}

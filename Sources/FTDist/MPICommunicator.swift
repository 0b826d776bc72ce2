import CMPI
import Foundation

/// A `Communicator` over an MPI communicator (Open MPI), by default `MPI_COMM_WORLD`.
///
/// - Start-up: `MPICommunicator.initialize()` calls `MPI_Init_thread` once per process (asking for
///   `MPI_THREAD_SERIALIZED`: any thread may call MPI, never two at once) and returns the world.
///   Without `mpirun` Open MPI starts as a singleton, so the world is simply size 1.
/// - Errors: the communicator's error handler is set to `MPI_ERRORS_RETURN`, every call's code is
///   checked, and a failure throws `CommunicatorError` with `MPI_Error_string`'s text, the operation and peer.
/// - Large messages: MPI counts are `Int32`; a message longer than `maxElementsPerMessage`
///   (default `Int32.max`) is sent as consecutive pieces, which MPI delivers in order.
/// - Threading contract: one instance is used by one thread at a time (the trainer's main loop);
///   that is why the class is `@unchecked Sendable`: its state is immutable after `init`.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// The underlying MPI handle (for `MPI_*` calls not wrapped here).
    public let handle: MPI_Comm
    /// Seconds a call waits for its peer before throwing `.timeout` naming it (HF's `ddp_timeout`);
    /// nil waits forever. With a time-out, calls are non-blocking requests polled until the deadline.
    public var timeout: Double?
    /// Longest single MPI message, in elements; longer buffers travel in pieces of this size.
    public let maxElementsPerMessage: Int
    /// Largest tag MPI accepts here (`MPI_TAG_UB`, at least 32767).
    public let tagUpperBound: Int

    /// Wraps an existing MPI communicator (`MPI_COMM_WORLD`, or a group from `split`).
    /// Sets `MPI_ERRORS_RETURN` on it so that failures come back as codes.
    /// - Parameter maxElementsPerMessage: piece size for long messages, in `1 ... Int32.max`;
    ///   smaller values exist to test the splitting path.
    public init(handle: MPI_Comm, maxElementsPerMessage: Int = Int(Int32.max)) throws {
        guard (1...Int(Int32.max)).contains(maxElementsPerMessage) else {
            throw MPIError.invalid(
                "MPICommunicator.init",
                "maxElementsPerMessage \(maxElementsPerMessage) not in 1...\(Int32.max)")
        }
        try MPIError.check(MPI_Comm_set_errhandler(handle, ft_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try MPIError.check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank")
        try MPIError.check(MPI_Comm_size(handle, &size), "MPI_Comm_size")
        self.handle = handle
        self.rank = Int(rank)
        self.size = Int(size)
        self.maxElementsPerMessage = maxElementsPerMessage
        self.tagUpperBound = Int(ft_mpi_tag_upper_bound())
    }

    // MARK: - Process lifetime

    private static let lifetimeLock = NSLock()
    nonisolated(unsafe) private static var world: MPICommunicator?

    /// Initialises MPI (once per process) and returns the world communicator; later calls return
    /// the same instance. Works without `mpirun` (an Open MPI singleton of size 1).
    /// - Throws: `CommunicatorError(.transport)` after `finalize()`, if MPI cannot give
    ///   `MPI_THREAD_SERIALIZED`, or if `MPI_Init_thread` fails.
    public static func initialize() throws -> MPICommunicator {
        lifetimeLock.lock()
        defer { lifetimeLock.unlock() }
        if let world { return world }
        var finalized: Int32 = 0
        try MPIError.check(MPI_Finalized(&finalized), "MPI_Finalized")
        if finalized != 0 {
            throw CommunicatorError(
                .transport, operation: "MPICommunicator.initialize",
                message: "MPI has already been finalized in this process and cannot be initialized again")
        }
        var initialized: Int32 = 0
        try MPIError.check(MPI_Initialized(&initialized), "MPI_Initialized")
        if initialized == 0 {
            let required = ft_mpi_thread_serialized()
            var provided: Int32 = 0
            // MPI_Init_thread may abort instead of returning on failure: the handler is not set yet.
            try MPIError.check(MPI_Init_thread(nil, nil, required, &provided), "MPI_Init_thread")
            if provided < required {
                throw CommunicatorError(
                    .transport, operation: "MPI_Init_thread",
                    message: "MPI thread support level \(provided) is below MPI_THREAD_SERIALIZED (\(required))")
            }
        }
        let created = try MPICommunicator(handle: ft_mpi_comm_world())
        world = created
        return created
    }

    /// Whether `MPI_Init` has run and `MPI_Finalize` has not.
    public static var isActive: Bool {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        _ = MPI_Initialized(&initialized)
        _ = MPI_Finalized(&finalized)
        return initialized != 0 && finalized == 0
    }

    /// Whether this process was started by Open MPI's `mpirun` (rather than as a singleton).
    public static var isLaunchedByMPIRun: Bool {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
    }

    /// Collective over the whole process: ends MPI (`MPI_Finalize`). Call once, after the last
    /// MPI call on every communicator; a second call is a no-op.
    public func finalize() throws {
        try Self.finalizeProcess()
    }

    /// See `finalize()`.
    public static func finalizeProcess() throws {
        lifetimeLock.lock()
        defer { lifetimeLock.unlock() }
        var finalized: Int32 = 0
        var initialized: Int32 = 0
        try MPIError.check(MPI_Finalized(&finalized), "MPI_Finalized")
        try MPIError.check(MPI_Initialized(&initialized), "MPI_Initialized")
        guard initialized != 0, finalized == 0 else { return }
        try MPIError.check(MPI_Finalize(), "MPI_Finalize")
    }

    /// Ends every process of the job with `errorCode` (`MPI_Abort`). For a rank that cannot go on
    /// while the others would wait for it forever.
    public func abort(errorCode: Int32 = 1) -> Never {
        _ = MPI_Abort(handle, errorCode)
        exit(errorCode)
    }

    /// Seconds on MPI's wall clock (`MPI_Wtime`).
    public static func wallTime() -> Double { ft_mpi_wtime() }

    /// Collective: splits this group into subgroups (`MPI_Comm_split`), one per `color`, ranked by
    /// `key` (ties by the current rank) — e.g. one group per federated site.
    public func split(color: Int, key: Int) throws -> MPICommunicator {
        guard let color32 = Int32(exactly: color), color32 >= 0, let key32 = Int32(exactly: key) else {
            throw MPIError.invalid("MPI_Comm_split", "color \(color) / key \(key) out of range")
        }
        var newHandle: MPI_Comm? = nil
        try MPIError.check(MPI_Comm_split(handle, color32, key32, &newHandle), "MPI_Comm_split")
        guard let newHandle else {
            throw MPIError.invalid("MPI_Comm_split", "MPI returned no communicator")
        }
        return try MPICommunicator(handle: newHandle, maxElementsPerMessage: maxElementsPerMessage)
    }

    // MARK: - Point to point

    public func send(_ buffer: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws {
        let operation = "MPI_Send"
        try validate(operation, count: count, peer: peer, tag: tag)
        let tag32 = Int32(tag)
        if timeout != nil {
            var requests: [MPI_Request?] = []
            for piece in Self.pieces(count, maxElementsPerMessage) {
                requests.append(nil)
                try MPIError.check(
                    MPI_Isend(
                        buffer + piece.offset, Int32(piece.count), ft_mpi_float(), Int32(peer), tag32,
                        handle, &requests[requests.count - 1]), "MPI_Isend", peer: peer)
            }
            var statuses = [MPI_Status](repeating: MPI_Status(), count: requests.count)
            try waitAll(&requests, &statuses, operation, peer: peer)
            return
        }
        var offset = 0
        repeat {  // a zero count still sends one (empty) message, matching the receive
            let piece = min(maxElementsPerMessage, count - offset)
            try MPIError.check(
                MPI_Send(buffer + offset, Int32(piece), ft_mpi_float(), Int32(peer), tag32, handle),
                operation, peer: peer)
            offset += piece
        } while offset < count
    }

    public func receive(_ buffer: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws {
        let operation = "MPI_Recv"
        try validate(operation, count: count, peer: peer, tag: tag)
        let tag32 = Int32(tag)
        if timeout != nil {
            let pieces = Self.pieces(count, maxElementsPerMessage)
            var requests = [MPI_Request?](repeating: nil, count: pieces.count)
            for (index, piece) in pieces.enumerated() {
                try MPIError.check(
                    MPI_Irecv(
                        buffer + piece.offset, Int32(piece.count), ft_mpi_float(), Int32(peer), tag32,
                        handle, &requests[index]), "MPI_Irecv", peer: peer)
            }
            var statuses = [MPI_Status](repeating: MPI_Status(), count: requests.count)
            try waitAll(&requests, &statuses, operation, peer: peer)
            for (index, piece) in pieces.enumerated() {
                try checkReceived(statuses[index], expected: piece.count, operation, peer: peer, offset: piece.offset)
            }
            return
        }
        var offset = 0
        repeat {
            let piece = min(maxElementsPerMessage, count - offset)
            var status = MPI_Status()
            try MPIError.check(
                MPI_Recv(buffer + offset, Int32(piece), ft_mpi_float(), Int32(peer), tag32, handle, &status),
                operation, peer: peer)
            try checkReceived(status, expected: piece, operation, peer: peer, offset: offset)
            offset += piece
        } while offset < count
    }

    public func sendReceive(
        send sendBuffer: UnsafePointer<Float>, sendCount: Int, to destination: Int,
        receive receiveBuffer: UnsafeMutablePointer<Float>, receiveCount: Int, from source: Int,
        tag: Int
    ) throws {
        let operation = "MPI_Sendrecv"
        try validate(operation, count: sendCount, peer: destination, tag: tag)
        try validate(operation, count: receiveCount, peer: source, tag: tag)
        let tag32 = Int32(tag)
        if timeout == nil && sendCount <= maxElementsPerMessage && receiveCount <= maxElementsPerMessage {
            var status = MPI_Status()
            let code = MPI_Sendrecv(
                sendBuffer, Int32(sendCount), ft_mpi_float(), Int32(destination), tag32,
                receiveBuffer, Int32(receiveCount), ft_mpi_float(), Int32(source), tag32,
                handle, &status)
            try MPIError.check(code, "\(operation) (to \(destination), from \(source))", peer: source)
            try checkReceived(status, expected: receiveCount, operation, peer: source, offset: 0)
            return
        }
        // Long messages: post every receive piece, then every send piece, then wait for all.
        // Non-blocking calls cannot deadlock in a ring, and MPI keeps same-tag messages in order,
        // so the pieces match the peer's pieces one for one.
        let receivePieces = Self.pieces(receiveCount, maxElementsPerMessage)
        let sendPieces = Self.pieces(sendCount, maxElementsPerMessage)
        var requests = [MPI_Request?](repeating: nil, count: receivePieces.count + sendPieces.count)
        var statuses = [MPI_Status](repeating: MPI_Status(), count: requests.count)
        for (index, piece) in receivePieces.enumerated() {
            try MPIError.check(
                MPI_Irecv(
                    receiveBuffer + piece.offset, Int32(piece.count), ft_mpi_float(),
                    Int32(source), tag32, handle, &requests[index]),
                "MPI_Irecv", peer: source)
        }
        for (index, piece) in sendPieces.enumerated() {
            try MPIError.check(
                MPI_Isend(
                    sendBuffer + piece.offset, Int32(piece.count), ft_mpi_float(),
                    Int32(destination), tag32, handle, &requests[receivePieces.count + index]),
                "MPI_Isend", peer: destination)
        }
        try waitAll(&requests, &statuses, "\(operation) (to \(destination), from \(source))", peer: source)
        for (index, piece) in receivePieces.enumerated() {
            try checkReceived(statuses[index], expected: piece.count, operation, peer: source, offset: piece.offset)
        }
    }

    public func probe(from peer: Int, tag: Int) throws -> Int? {
        try validate("MPI_Iprobe", count: 0, peer: peer, tag: tag)
        var flag: Int32 = 0
        var status = MPI_Status()
        try MPIError.check(MPI_Iprobe(Int32(peer), Int32(tag), handle, &flag, &status), "MPI_Iprobe", peer: peer)
        guard flag != 0 else { return nil }
        var count: Int32 = 0
        try MPIError.check(MPI_Get_count(&status, ft_mpi_float(), &count), "MPI_Get_count", peer: peer)
        return Int(count)
    }

    public func barrier() throws {
        if size == 1 { return }
        guard timeout != nil else {
            try MPIError.check(MPI_Barrier(handle), "MPI_Barrier")
            return
        }
        var requests = [MPI_Request?](repeating: nil, count: 1)
        try MPIError.check(MPI_Ibarrier(handle, &requests[0]), "MPI_Ibarrier")
        var statuses = [MPI_Status](repeating: MPI_Status(), count: 1)
        try waitAll(&requests, &statuses, "MPI_Barrier", peer: nil)
    }

    /// Waits for every request; with a `timeout`, polls (`MPI_Testall`, which also drives MPI's
    /// progress) until the deadline and then throws `.timeout` naming `peer` — a rank that stopped
    /// answering ends the job with a message instead of hanging it.
    private func waitAll(
        _ requests: inout [MPI_Request?], _ statuses: inout [MPI_Status], _ operation: String,
        peer: Int?
    ) throws {
        guard let timeout else {
            try MPIError.check(MPI_Waitall(Int32(requests.count), &requests, &statuses), "MPI_Waitall (\(operation))", peer: peer)
            return
        }
        let deadline = ft_mpi_wtime() + timeout
        var polls = 0
        while true {
            var done: Int32 = 0
            try MPIError.check(
                MPI_Testall(Int32(requests.count), &requests, &done, &statuses), "MPI_Testall (\(operation))",
                peer: peer)
            if done != 0 { return }
            polls += 1
            // Spin first (shared memory answers within microseconds), then back off to spare the core.
            if polls > 2000 { usleep(100) }
            if ft_mpi_wtime() > deadline {
                let who = peer.map { "rank \($0)" } ?? "a rank"
                throw CommunicatorError(
                    .timeout, peer: peer, operation: operation,
                    message: "\(who) did not answer within \(timeout) s (ddp_timeout); it may have died or hung")
            }
        }
    }

    // MARK: - MPI's own collectives (oracle, baseline, small control values)

    /// Collective: replaces `buffer[0 ..< count]` on every rank with the element-wise sum over
    /// ranks, using `MPI_Allreduce` with `MPI_IN_PLACE` (Open MPI chooses the algorithm; see the
    /// `coll_tuned_*` MCA parameters). The oracle for `RingAllReduce` and the benchmark baseline.
    /// All ranks must pass the same `count` (MPI does not check). One rank: returns at once.
    public func allReduceSumMPI(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try validateCount("MPI_Allreduce", count)
        if size == 1 || count == 0 { return }
        for piece in Self.pieces(count, maxElementsPerMessage) {
            try MPIError.check(
                MPI_Allreduce(
                    ft_mpi_in_place(), buffer + piece.offset, Int32(piece.count),
                    ft_mpi_float(), ft_mpi_sum(), handle),
                "MPI_Allreduce")
        }
    }

    /// The reductions `allReduceMPI(_:operation:)` offers on integers.
    public enum IntegerReduction: Sendable { case sum, min, max }

    /// Collective: reduces one integer over all ranks (e.g. "did any rank fail", "do all lengths agree").
    public func allReduceMPI(_ value: Int64, operation: IntegerReduction) throws -> Int64 {
        if size == 1 { return value }
        var result = value
        let op: MPI_Op =
            switch operation {
            case .sum: ft_mpi_sum()
            case .min: ft_mpi_min()
            case .max: ft_mpi_max()
            }
        try MPIError.check(MPI_Allreduce(ft_mpi_in_place(), &result, 1, ft_mpi_int64(), op, handle), "MPI_Allreduce")
        return result
    }

    /// Collective: copies `buffer[0 ..< count]` from `root` to every rank (`MPI_Bcast`), e.g. rank 0's
    /// initial parameters. One rank: returns at once.
    public func broadcastMPI(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) throws {
        try validateCount("MPI_Bcast", count)
        guard (0..<size).contains(root) else {
            throw MPIError.invalid("MPI_Bcast", "root \(root) not in 0..<\(size)", peer: root)
        }
        if size == 1 || count == 0 { return }
        for piece in Self.pieces(count, maxElementsPerMessage) {
            try MPIError.check(
                MPI_Bcast(buffer + piece.offset, Int32(piece.count), ft_mpi_float(), Int32(root), handle),
                "MPI_Bcast", peer: root)
        }
    }

    // MARK: - Checks

    /// `count` split into pieces of at most `limit` elements; a zero count is one empty piece.
    static func pieces(_ count: Int, _ limit: Int) -> [(offset: Int, count: Int)] {
        if count == 0 { return [(0, 0)] }
        return stride(from: 0, to: count, by: limit).map { ($0, min(limit, count - $0)) }
    }

    private func validateCount(_ operation: String, _ count: Int) throws {
        if count < 0 {
            throw MPIError.invalid(operation, "negative count \(count)")
        }
    }

    private func validate(_ operation: String, count: Int, peer: Int, tag: Int) throws {
        try validateCount(operation, count)
        guard (0..<size).contains(peer) else {
            throw MPIError.invalid(operation, "peer \(peer) not in 0..<\(size)", peer: peer)
        }
        guard (0...tagUpperBound).contains(tag) else {
            throw MPIError.invalid(operation, "tag \(tag) not in 0...\(tagUpperBound)", peer: peer)
        }
    }

    private func checkReceived(_ status: MPI_Status, expected: Int, _ operation: String, peer: Int, offset: Int) throws {
        var status = status
        var received: Int32 = 0
        try MPIError.check(MPI_Get_count(&status, ft_mpi_float(), &received), "MPI_Get_count", peer: peer)
        if Int(received) != expected {
            throw CommunicatorError(
                .sizeMismatch, peer: peer, operation: operation,
                message: "expected \(offset + expected) floats, received \(offset + Int(received)) "
                    + "(ranks passed different lengths)")
        }
    }
}

extension MPICommunicator: NativeAllReduce {
    /// `allReduceSumMPI`: `MPI_Allreduce` for `ddp_allreduce_algorithm: mpi`.
    public func nativeAllReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try allReduceSumMPI(buffer, count: count)
    }

    /// Collective: which ranks share a node. Every rank hashes its host's identity — host name,
    /// kernel boot id and network namespace (`/proc/self/ns/net`), so that the namespace "hosts"
    /// of `scripts/multinode_test.sh` count as hosts, as Open MPI counts them — and all ranks
    /// gather the hashes (`allGatherValues`).
    ///
    /// No new communicator is needed (unlike `MPI_Comm_split_type`, which was tried first: in the
    /// namespace test it crashed, most likely because the two namespace hosts share `/dev/shm` and
    /// a host name, so Open MPI's shared-memory segments collide; that test now runs over TCP).
    public func nodeLayout() throws -> NodeLayout {
        guard size > 1 else { return .singleNode(size: 1) }
        let labels = try allGatherValues(Self.hostKey())
        return NodeLayout(nodeLabels: labels.map { Int(truncatingIfNeeded: $0) })
    }

    /// FNV-1a of "host name | boot id | network namespace": equal exactly for processes that
    /// share a kernel and a network namespace.
    static func hostKey() -> UInt64 {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? ""
        let namespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) ?? ""
        let identity = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "|" + boot.trimmingCharacters(in: .whitespacesAndNewlines) + "|" + namespace
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

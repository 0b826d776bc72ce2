import FTCore

/// Ring all-reduce (Baidu / Horovod / Open MPI's segmented ring), written once against
/// `Communicator`, so the in-process tests exercise exactly the code that runs under `mpirun`.
///
/// The buffer of `count` floats is split into `size` chunks; the first `count % size` chunks get
/// one extra element. `size − 1` reduce-scatter steps leave rank `r` with the complete sum of chunk
/// `r + 1`; `size − 1` all-gather steps then pass the finished chunks around. Each rank sends and
/// receives `2(size − 1)/size` of the buffer, nearly independent of `size`. Within a step a chunk
/// travels in segments of `segmentSize` floats, so the receiver adds segment `k` while segment
/// `k + 1` is in flight, and the scratch is one segment, not one chunk.
///
/// Worked example, 3 ranks, chunks A B C (`a0` is rank 0's part of A, `a01` = a0 + a1, ...):
///
/// ```
///                       rank 0            rank 1            rank 2
/// start                 a0   b0   c0      a1   b1   c1      a2   b2   c2
/// reduce-scatter, step s: rank r sends chunk r−s to r+1, adds chunk r−s−1 received from r−1
///   s=0  0→1 A, 1→2 B, 2→0 C
///                       a0   b0   c02     a01  b1   c1      a2   b12  c2
///   s=1  0→1 C, 1→2 A, 2→0 B
///                       a0   b012 c02     a01  b1   c012    a012 b12  c2
///        rank r now owns the full sum of chunk r+1:  rank 0: B, rank 1: C, rank 2: A
/// all-gather, step s: rank r sends chunk r+1−s to r+1, stores chunk r−s received from r−1
///   s=0  0→1 B, 1→2 C, 2→0 A
///                       A    B    c02     a01  B    C       A    b12  C
///   s=1  0→1 A, 1→2 B, 2→0 C
///                       A    B    C       A    B    C       A    B    C
/// ```
///
/// Before the data moves, all ranks compare their `count` (`checkSameValue`, `size − 1` tiny
/// messages), so a mismatch throws `CommunicatorError(.mismatch)` on every rank instead of hanging
/// or corrupting. Each step uses `sendReceive`, which posts the receive before the send.
///
/// Numerical contract: `allReduceSum` leaves the element-wise sum over ranks in every rank's
/// buffer, bit-identical on all ranks; the summation order depends on `size` and on the chunk an
/// element falls in, so results differ from a sequential sum by float rounding (exact for
/// integer-valued data below 2^24). `allReduceAverage` is that sum divided by `size`. With
/// `.bf16` compression each hop rounds the travelling partial sum to bf16 (relative error about
/// 2^-9 per hop) and accumulates in fp32; the finished chunk is rounded to bf16 on its owner too,
/// so all ranks still end with identical values.
///
/// Not thread-safe: one instance per rank, called from one thread, collectively on all ranks.
public final class RingAllReduce {
    /// What travels on the wire; accumulation is always fp32.
    public enum Compression: Sendable {
        case none
        /// Segments sent as bfloat16 (half the bytes), like DDP's `bf16_compress_hook`.
        case bf16
    }

    public let communicator: any Communicator
    /// Floats per message within a step (default 256 Ki floats = 1 MiB, Open MPI's segment size).
    public let segmentSize: Int
    public let compression: Compression
    /// Whether every call first checks that all ranks passed the same `count` (cheap, recommended).
    public let checksLengths: Bool

    /// Receive scratch: one segment of floats, or for bf16 one segment of bf16 values.
    private var receiveScratch: UnsafeMutableRawPointer
    /// Send scratch (bf16 only): one segment converted to bf16.
    private var sendScratch: UnsafeMutableRawPointer
    /// Floats (elements) one segment of scratch holds.
    private var scratchCapacity: Int

    /// - Parameters:
    ///   - maximumCount: the largest `count` expected, so scratch is allocated once here
    ///     (it grows later only if a larger call needs more, up to one segment).
    ///   - segmentSize: floats per message; smaller pipelines more finely, larger has less overhead.
    public init(
        communicator: any Communicator, maximumCount: Int = 0, segmentSize: Int = 256 * 1024,
        compression: Compression = .none, checksLengths: Bool = true
    ) {
        precondition(segmentSize > 0, "segmentSize must be positive")
        self.communicator = communicator
        self.segmentSize = segmentSize
        self.compression = compression
        self.checksLengths = checksLengths
        self.scratchCapacity = 0
        self.receiveScratch = .allocate(byteCount: 0, alignment: 64)
        self.sendScratch = .allocate(byteCount: 0, alignment: 64)
        reserve(count: maximumCount)
    }

    deinit {
        receiveScratch.deallocate()
        sendScratch.deallocate()
    }

    /// Collective, in place: every rank's `buffer` becomes the element-wise sum over all ranks,
    /// divided by `size` (the mean). All ranks must pass the same `count`.
    public func allReduceAverage(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try reduce(buffer, count: count, operation: "allReduceAverage")
        let n = communicator.size
        guard n > 1 else { return }
        AllReduceKernel.divide(buffer, by: Float(n), count: count)
    }

    /// Collective, in place: every rank's `buffer` becomes the element-wise sum over all ranks.
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try reduce(buffer, count: count, operation: "allReduceSum")
    }

    /// `allReduceAverage` over a whole array.
    public func allReduceAverage(_ values: inout [Float]) throws {
        let count = values.count
        try values.withUnsafeMutableBufferPointer { buffer in
            try allReduceAverage(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!, count: count)
        }
    }

    /// `allReduceSum` over a whole array.
    public func allReduceSum(_ values: inout [Float]) throws {
        let count = values.count
        try values.withUnsafeMutableBufferPointer { buffer in
            try allReduceSum(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!, count: count)
        }
    }

    // MARK: - The ring

    private func reduce(_ buffer: UnsafeMutablePointer<Float>, count: Int, operation: String) throws {
        precondition(count >= 0, "\(operation): negative count")
        let n = communicator.size
        guard n > 1 else { return }  // one rank: nothing to combine
        if checksLengths {
            do {
                try communicator.checkSameValue(UInt64(count), what: "\(operation) length")
            } catch var error as CommunicatorError {
                error.operation = operation
                throw error
            }
        }
        guard count > 0 else { return }
        let group = RankGroup.world(communicator)
        try reduceScatter(buffer, count: count, group: group, tag: CollectiveTag.allReduce)
        // With bf16 the other ranks will hold the owned chunk rounded to bf16; match them.
        if compression == .bf16 {
            let layout = ChunkLayout(count: count, parts: n)
            let owned = Self.ownedChunk(position: group.position, groupSize: n)
            AllReduceKernel.roundToBF16(buffer + layout.offset(owned), count: layout.length(owned))
        }
        try allGather(buffer, count: count, group: group, tag: CollectiveTag.allReduce)
    }

    /// The chunk (of `ChunkLayout(count:parts: groupSize)`) whose complete sum the rank at
    /// `position` holds after `reduceScatter`: the ring leaves position `p` with chunk `p + 1`.
    static func ownedChunk(position: Int, groupSize: Int) -> Int { (position + 1) % groupSize }

    /// The ring's first half over `group` (no length check): afterwards the rank at position `p`
    /// holds the group's complete sum of chunk `ownedChunk(p)`; other chunks hold partial sums.
    func reduceScatter(_ buffer: UnsafeMutablePointer<Float>, count: Int, group: RankGroup, tag: Int) throws {
        let n = group.size, r = group.position
        guard n > 1, count > 0 else { return }
        reserve(count: count, parts: n)
        let layout = ChunkLayout(count: count, parts: n)
        @inline(__always) func wrap(_ c: Int) -> Int { ((c % n) + n) % n }
        // Step s sends chunk r−s, receives and adds chunk r−s−1.
        for step in 0..<n - 1 {
            let sendChunk = wrap(r - step), receiveChunk = wrap(r - step - 1)
            try exchange(
                send: buffer + layout.offset(sendChunk), sendLength: layout.length(sendChunk),
                receive: buffer + layout.offset(receiveChunk), receiveLength: layout.length(receiveChunk),
                accumulate: true, group: group, tag: tag)
        }
    }

    /// The ring's second half over `group`: every position starts with its `ownedChunk` complete
    /// and ends with all chunks (they are stored, not added).
    func allGather(_ buffer: UnsafeMutablePointer<Float>, count: Int, group: RankGroup, tag: Int) throws {
        let n = group.size, r = group.position
        guard n > 1, count > 0 else { return }
        reserve(count: count, parts: n)
        let layout = ChunkLayout(count: count, parts: n)
        @inline(__always) func wrap(_ c: Int) -> Int { ((c % n) + n) % n }
        // Step s sends chunk r+1−s, receives (stores) chunk r−s.
        for step in 0..<n - 1 {
            let sendChunk = wrap(r + 1 - step), receiveChunk = wrap(r - step)
            try exchange(
                send: buffer + layout.offset(sendChunk), sendLength: layout.length(sendChunk),
                receive: buffer + layout.offset(receiveChunk), receiveLength: layout.length(receiveChunk),
                accumulate: false, group: group, tag: tag)
        }
    }

    /// One ring step, segment by segment: sends `sendLength` floats to the next rank and receives
    /// `receiveLength` floats from the previous one, adding them in (`accumulate`) or storing them.
    /// The two lengths differ by at most one, and the neighbours agree on every segment's length
    /// because they compute the same chunk boundaries, so empty segments are simply skipped.
    private func exchange(
        send: UnsafeMutablePointer<Float>, sendLength: Int,
        receive: UnsafeMutablePointer<Float>, receiveLength: Int,
        accumulate: Bool, group: RankGroup, tag: Int
    ) throws {
        let n = group.size, r = group.position
        let next = group.ranks[(r + 1) % n], previous = group.ranks[(r - 1 + n) % n]
        let segment = segmentSize
        var offset = 0
        while offset < sendLength || offset < receiveLength {
            let sendCount = max(0, min(segment, sendLength - offset))
            let receiveCount = max(0, min(segment, receiveLength - offset))
            let source = send + offset, destination = receive + offset
            switch compression {
            case .none:
                // Accumulating receives land in scratch and are added; stores go straight in place.
                let landing = accumulate ? receiveScratch.bindMemory(to: Float.self, capacity: scratchCapacity) : destination
                try communicator.transfer(
                    send: UnsafePointer(source), sendCount: sendCount, to: next,
                    receive: landing, receiveCount: receiveCount, from: previous, tag: tag)
                if accumulate { AllReduceKernel.add(destination, landing, count: receiveCount) }
            case .bf16:
                let packedOut = sendScratch.bindMemory(to: UInt16.self, capacity: scratchCapacity)
                AllReduceKernel.packBF16(source, into: packedOut, count: sendCount)
                // Two bf16 values per float slot on the wire (bytes are moved, never interpreted).
                let sendSlots = (sendCount + 1) / 2, receiveSlots = (receiveCount + 1) / 2
                try communicator.transfer(
                    send: UnsafePointer(sendScratch.bindMemory(to: Float.self, capacity: (scratchCapacity + 1) / 2)),
                    sendCount: sendSlots, to: next,
                    receive: receiveScratch.bindMemory(to: Float.self, capacity: scratchCapacity),
                    receiveCount: receiveSlots, from: previous, tag: tag)
                let packedIn = receiveScratch.bindMemory(to: UInt16.self, capacity: scratchCapacity)
                if accumulate {
                    AllReduceKernel.addBF16(packedIn, into: destination, count: receiveCount)
                } else {
                    AllReduceKernel.unpackBF16(packedIn, into: destination, count: receiveCount)
                }
            }
            offset += segment
        }
    }

    /// Ensures scratch holds one segment for a call of `count` floats (allocates only to grow).
    private func reserve(count: Int, parts: Int? = nil) {
        let n = max(parts ?? communicator.size, 1)
        let largestChunk = (count + n - 1) / n
        let needed = min(segmentSize, largestChunk)
        guard needed > scratchCapacity else { return }
        receiveScratch.deallocate()
        sendScratch.deallocate()
        // Room for `needed` floats (the bf16 path uses half of it, rounded up to whole slots).
        receiveScratch = .allocate(byteCount: (needed + 1) * MemoryLayout<Float>.stride, alignment: 64)
        sendScratch = .allocate(
            byteCount: compression == .bf16 ? (needed + 1) * MemoryLayout<UInt16>.stride : 0,
            alignment: 64)
        scratchCapacity = needed
    }
}

/// Small collectives built on point-to-point `send`/`receive`, shared by every `Communicator`.
///
/// Every function here is collective: all ranks call it, in the same order, with arguments that
/// agree where the doc says so. Tags in `CollectiveTag` are reserved for them (below MPI's
/// guaranteed `MPI_TAG_UB` of 32767); point-to-point users should pick tags below 32000.
public enum CollectiveTag {
    public static let allGather = 32001
    public static let broadcast = 32002
    public static let allReduce = 32003
    /// `HierarchicalAllReduce`'s phases inside a node (reduce-scatter, all-gather).
    public static let allReduceIntraNode = 32004
    /// `HierarchicalAllReduce`'s all-reduce of one shard across nodes.
    public static let allReduceInterNode = 32005
    /// `AllReducer`'s length agreement before the data moves.
    public static let lengthCheck = 32006
}

extension Communicator {
    /// Collective: every rank contributes `value` and receives all ranks' values in rank order.
    ///
    /// A ring of `size − 1` steps: at step `s`, rank `r` forwards the value of rank `r − s` to
    /// `r + 1` and receives the value of rank `r − s − 1` from `r − 1`. Values travel as four floats
    /// holding 16 bits each (exact in any float transport, no bit-pattern tricks).
    public func allGatherValues(_ value: UInt64) throws -> [UInt64] {
        var values = [UInt64](repeating: 0, count: size)
        values[rank] = value
        guard size > 1 else { return values }
        let next = (rank + 1) % size
        let previous = (rank - 1 + size) % size
        var outgoing = [Float](repeating: 0, count: 4)
        var incoming = [Float](repeating: 0, count: 4)
        for step in 0..<size - 1 {
            let sendIndex = ((rank - step) % size + size) % size
            let receiveIndex = ((rank - step - 1) % size + size) % size
            for k in 0..<4 { outgoing[k] = Float((values[sendIndex] >> (16 * UInt64(k))) & 0xFFFF) }
            try outgoing.withUnsafeBufferPointer { out in
                try incoming.withUnsafeMutableBufferPointer { into in
                    try sendReceive(
                        send: out.baseAddress!, sendCount: 4, to: next,
                        receive: into.baseAddress!, receiveCount: 4, from: previous,
                        tag: CollectiveTag.allGather)
                }
            }
            var decoded: UInt64 = 0
            for k in 0..<4 { decoded |= UInt64(incoming[k]) << (16 * UInt64(k)) }
            values[receiveIndex] = decoded
        }
        return values
    }

    /// Collective: every rank's `count`, in rank order (e.g. per-rank sample counts).
    public func allGatherCounts(_ count: Int) throws -> [Int] {
        precondition(count >= 0, "allGatherCounts takes non-negative counts")
        return try allGatherValues(UInt64(count)).map { Int($0) }
    }

    /// Collective: throws `CommunicatorError(.mismatch)` on **every** rank unless all ranks passed
    /// the same `value` (lengths before a collective, model checksums at start-up). The message
    /// names `what`, the ranks and their values; `peer` is the first rank that differs from rank 0.
    public func checkSameValue(_ value: UInt64, what: String) throws {
        let values = try allGatherValues(value)
        guard let firstDiffering = values.firstIndex(where: { $0 != values[0] }) else { return }
        let listing = values.enumerated().map { "rank \($0.offset): \($0.element)" }.joined(separator: ", ")
        throw CommunicatorError(
            .mismatch, peer: firstDiffering, operation: "checkSameValue",
            message: "\(what) differs across ranks (\(listing)); seen on rank \(rank)")
    }

    /// Collective: copies `count` floats from `root`'s `buffer` into every other rank's `buffer`.
    ///
    /// A pipelined chain in rank order starting at `root` (root → root+1 → … → root−1), sent in
    /// segments of `segmentSize` floats so each hop forwards a segment while the next arrives. All
    /// ranks must pass the same `count`; with a mismatch the transport reports a size error.
    public func broadcast(
        _ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int,
        segmentSize: Int = 256 * 1024
    ) throws {
        guard (0..<size).contains(root) else {
            throw CommunicatorError(
                .invalidArgument, peer: root, operation: "broadcast",
                message: "root \(root) is outside 0..<\(size)")
        }
        precondition(segmentSize > 0 && count >= 0)
        guard size > 1, count > 0 else { return }
        let position = (rank - root + size) % size  // 0 at the root, size−1 at the chain's end
        let next = (rank + 1) % size
        let previous = (rank - 1 + size) % size
        var offset = 0
        while offset < count {
            let length = min(segmentSize, count - offset)
            if position > 0 {
                try receive(buffer + offset, count: length, from: previous, tag: CollectiveTag.broadcast)
            }
            if position < size - 1 {
                try send(buffer + offset, count: length, to: next, tag: CollectiveTag.broadcast)
            }
            offset += length
        }
    }

    /// Collective: `broadcast` over a whole array (all ranks' arrays must have the same length).
    public func broadcast(_ values: inout [Float], root: Int) throws {
        let count = values.count
        try values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try broadcast(base, count: count, root: root)
        }
    }
}

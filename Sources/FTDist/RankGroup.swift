/// The ranks taking part in one phase of an all-reduce, in the order the algorithm uses them, and
/// where this process sits among them: the whole world for the flat algorithms, the ranks of one
/// node or one rank per node for the phases of `HierarchicalAllReduce`. Algorithms address peers
/// as `ranks[position ± …]`, so the same code runs over the world or over a subgroup without a
/// sub-communicator.
struct RankGroup: Sendable, Equatable {
    /// World ranks, in the algorithm's order; position `i` is `ranks[i]`.
    let ranks: [Int]
    /// This process's index in `ranks`.
    let position: Int

    var size: Int { ranks.count }

    /// The group `ranks` seen from world rank `me` (which must be one of them).
    init(ranks: [Int], me: Int) {
        guard let position = ranks.firstIndex(of: me) else {
            preconditionFailure("rank \(me) is not in the group \(ranks)")
        }
        self.ranks = ranks
        self.position = position
    }

    /// Every rank of `communicator`, in rank order.
    static func world(_ communicator: any Communicator) -> RankGroup {
        RankGroup(ranks: Array(0..<communicator.size), me: communicator.rank)
    }
}

/// `count` elements cut into `parts` contiguous chunks; the first `count % parts` chunks hold one
/// extra element (the ring's and the halving's split, so both sides of an exchange agree on it).
struct ChunkLayout: Sendable {
    let count: Int
    let parts: Int

    private var base: Int { count / parts }
    private var extra: Int { count % parts }

    /// First element of chunk `chunk` (`chunk == parts` gives `count`).
    func offset(_ chunk: Int) -> Int { chunk * base + min(chunk, extra) }
    /// Elements in chunk `chunk`.
    func length(_ chunk: Int) -> Int { base + (chunk < extra ? 1 : 0) }
    /// Elements in chunks `lower ..< upper`.
    func length(from lower: Int, to upper: Int) -> Int { offset(upper) - offset(lower) }
}

extension Communicator {
    /// One exchange step between two peers that agree on both lengths: `sendReceive` when both
    /// sides carry data, the one call that does otherwise, nothing when both are empty (the peer
    /// computes the same lengths, so it skips the same messages).
    @inline(__always)
    func transfer(
        send: UnsafePointer<Float>, sendCount: Int, to destination: Int,
        receive: UnsafeMutablePointer<Float>, receiveCount: Int, from source: Int, tag: Int
    ) throws {
        if sendCount > 0 && receiveCount > 0 {
            try sendReceive(
                send: send, sendCount: sendCount, to: destination,
                receive: receive, receiveCount: receiveCount, from: source, tag: tag)
        } else if sendCount > 0 {
            try self.send(send, count: sendCount, to: destination, tag: tag)
        } else if receiveCount > 0 {
            try self.receive(receive, count: receiveCount, from: source, tag: tag)
        }
    }
}

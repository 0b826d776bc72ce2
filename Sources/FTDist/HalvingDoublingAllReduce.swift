import FTCore

/// Rabenseifner's all-reduce: a reduce-scatter by recursive halving, then an all-gather by
/// recursive doubling (Thakur, Rabenseifner & Gropp 2005; MPICH's `allreduce` for long messages).
/// Where the ring pays `2(n − 1)` latencies, this pays `2 log₂ n`, for the same `2(n − 1)/n` of
/// the buffer sent per rank: the algorithm for small and middle-sized buffers on many ranks.
///
/// With `p` the largest power of two `≤ n` and `rem = n − p` (positions are the group's):
///
/// ```
/// fold     positions 0 ..< 2·rem pair up (2i, 2i+1): 2i sends its whole buffer to 2i+1, which adds
///          it; 2i sits out. The p remaining ranks get virtual ranks 0 ..< p.
/// halving  distance d = p/2, p/4, …, 1: partner = v XOR d; of the current chunk range the rank
///          with bit d clear keeps the lower half and sends the upper, its partner the reverse;
///          the received half is added. Virtual rank v ends with the full sum of chunk v of p.
/// doubling d = 1, 2, …, p/2: exchange the finished blocks (aligned, d chunks) with v XOR d.
/// unfold   2i+1 sends the whole result back to 2i.
/// ```
///
/// Every exchange moves in segments of `segmentSize` floats (one segment of scratch, and
/// partners agree on every segment's length because they compute the same chunk bounds).
/// Summation order differs from the ring's, so the two agree exactly only on integer-valued
/// data (below 2^24), and otherwise to float rounding.
///
/// Not thread-safe: one instance per rank, used from one thread, collectively on the group.
final class HalvingDoublingAllReduce {
    let communicator: any Communicator
    let segmentSize: Int
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCapacity: Int

    init(communicator: any Communicator, segmentSize: Int = 256 * 1024) {
        precondition(segmentSize > 0, "segmentSize must be positive")
        self.communicator = communicator
        self.segmentSize = segmentSize
        scratch = .allocate(capacity: 1)
        scratchCapacity = 1
    }

    deinit { scratch.deallocate() }

    /// Collective over `group`, in place: every member's `buffer` becomes the element-wise sum
    /// over the group. No length check (the caller's `AllReducer` does it once).
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int, group: RankGroup, tag: Int) throws {
        let n = group.size, me = group.position
        guard n > 1, count > 0 else { return }
        let p = Self.largestPowerOfTwo(atMost: n)
        let rem = n - p
        reserve(min(count, segmentSize))

        // Fold the extra ranks into their odd neighbours.
        var virtual = me - rem
        if me < 2 * rem {
            if me % 2 == 0 {
                try exchange(
                    send: buffer, sendCount: count, receive: buffer, receiveCount: 0,
                    peer: group.ranks[me + 1], accumulate: true, tag: tag)
                virtual = -1
            } else {
                try exchange(
                    send: buffer, sendCount: 0, receive: buffer, receiveCount: count,
                    peer: group.ranks[me - 1], accumulate: true, tag: tag)
                virtual = me / 2
            }
        }
        if virtual >= 0 {
            let real = { (v: Int) -> Int in group.ranks[v < rem ? 2 * v + 1 : v + rem] }
            let layout = ChunkLayout(count: count, parts: p)
            // Reduce-scatter by recursive halving.
            var lower = 0, upper = p
            var distance = p / 2
            while distance >= 1 {
                let middle = (lower + upper) / 2
                let keepsLower = virtual & distance == 0
                let (keep, give) = keepsLower ? ((lower, middle), (middle, upper)) : ((middle, upper), (lower, middle))
                try exchange(
                    send: buffer + layout.offset(give.0), sendCount: layout.length(from: give.0, to: give.1),
                    receive: buffer + layout.offset(keep.0), receiveCount: layout.length(from: keep.0, to: keep.1),
                    peer: real(virtual ^ distance), accumulate: true, tag: tag)
                (lower, upper) = keep
                distance /= 2
            }
            // All-gather by recursive doubling: blocks of `distance` chunks, aligned.
            distance = 1
            while distance < p {
                let partner = virtual ^ distance
                let mine = virtual / distance * distance, theirs = partner / distance * distance
                try exchange(
                    send: buffer + layout.offset(mine), sendCount: layout.length(from: mine, to: mine + distance),
                    receive: buffer + layout.offset(theirs), receiveCount: layout.length(from: theirs, to: theirs + distance),
                    peer: real(partner), accumulate: false, tag: tag)
                distance *= 2
            }
        }
        // Unfold: the odd neighbours hand the result back.
        if me < 2 * rem {
            if me % 2 == 1 {
                try exchange(
                    send: buffer, sendCount: count, receive: buffer, receiveCount: 0,
                    peer: group.ranks[me - 1], accumulate: false, tag: tag)
            } else {
                try exchange(
                    send: buffer, sendCount: 0, receive: buffer, receiveCount: count,
                    peer: group.ranks[me + 1], accumulate: false, tag: tag)
            }
        }
    }

    /// The largest power of two `≤ n` (`n ≥ 1`).
    static func largestPowerOfTwo(atMost n: Int) -> Int { 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount) }

    /// One exchange with `peer`, segment by segment: sends `sendCount` floats and receives
    /// `receiveCount`, adding them into `receive` (through scratch) or storing them in place.
    private func exchange(
        send: UnsafeMutablePointer<Float>, sendCount: Int,
        receive: UnsafeMutablePointer<Float>, receiveCount: Int,
        peer: Int, accumulate: Bool, tag: Int
    ) throws {
        var offset = 0
        while offset < sendCount || offset < receiveCount {
            let sending = max(0, min(segmentSize, sendCount - offset))
            let receiving = max(0, min(segmentSize, receiveCount - offset))
            let landing = accumulate ? scratch : receive + offset
            try communicator.transfer(
                send: UnsafePointer(send + offset), sendCount: sending, to: peer,
                receive: landing, receiveCount: receiving, from: peer, tag: tag)
            if accumulate { AllReduceKernel.add(receive + offset, scratch, count: receiving) }
            offset += segmentSize
        }
    }

    private func reserve(_ count: Int) {
        guard count > scratchCapacity else { return }
        scratch.deallocate()
        scratch = .allocate(capacity: count)
        scratchCapacity = count
    }
}

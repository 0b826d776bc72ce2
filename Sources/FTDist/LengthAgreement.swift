extension Communicator {
    /// Collective: throws `CommunicatorError(.mismatch)` on **every** rank unless all ranks passed
    /// the same `count`; the check `AllReducer` runs before the data moves.
    ///
    /// Unlike `checkSameValue` (a ring of `n − 1` messages, which at 1,024 ranks and 30 µs costs
    /// 30 ms per call) this is a recursive doubling of the pair (smallest, largest) count over all
    /// ranks, with the usual fold of the ranks beyond the largest power of two: `⌊log₂ n⌋` steps,
    /// plus 2 when `n` is not a power of two. Values travel as 16-bit pieces in floats (exact).
    func agreeOnLength(_ count: Int, operation: String) throws {
        let n = size, me = rank
        guard n > 1 else { return }
        var extremes = (low: UInt64(count), high: UInt64(count))
        var outgoing = [Float](repeating: 0, count: 8)
        var incoming = [Float](repeating: 0, count: 8)
        let tag = CollectiveTag.lengthCheck

        func encode() {
            for k in 0..<4 {
                outgoing[k] = Float((extremes.low >> (16 * UInt64(k))) & 0xFFFF)
                outgoing[4 + k] = Float((extremes.high >> (16 * UInt64(k))) & 0xFFFF)
            }
        }
        func decode() -> (low: UInt64, high: UInt64) {
            var low: UInt64 = 0, high: UInt64 = 0
            for k in 0..<4 {
                low |= UInt64(incoming[k]) << (16 * UInt64(k))
                high |= UInt64(incoming[4 + k]) << (16 * UInt64(k))
            }
            return (low, high)
        }
        func swap(with peer: Int, sending: Bool, receiving: Bool) throws {
            encode()
            try outgoing.withUnsafeBufferPointer { out in
                try incoming.withUnsafeMutableBufferPointer { into in
                    try transfer(
                        send: out.baseAddress!, sendCount: sending ? 8 : 0, to: peer,
                        receive: into.baseAddress!, receiveCount: receiving ? 8 : 0, from: peer, tag: tag)
                }
            }
        }
        func combine() {
            let other = decode()
            extremes = (min(extremes.low, other.low), max(extremes.high, other.high))
        }

        let p = HalvingDoublingAllReduce.largestPowerOfTwo(atMost: n)
        let rem = n - p
        var virtual = me - rem
        if me < 2 * rem {
            if me % 2 == 0 {
                try swap(with: me + 1, sending: true, receiving: false)
                virtual = -1
            } else {
                try swap(with: me - 1, sending: false, receiving: true)
                combine()
                virtual = me / 2
            }
        }
        if virtual >= 0 {
            var distance = 1
            while distance < p {
                let partner = virtual ^ distance
                try swap(with: partner < rem ? 2 * partner + 1 : partner + rem, sending: true, receiving: true)
                combine()
                distance *= 2
            }
        }
        if me < 2 * rem {
            if me % 2 == 1 {
                try swap(with: me - 1, sending: true, receiving: false)
            } else {
                try swap(with: me + 1, sending: false, receiving: true)
                extremes = decode()
            }
        }
        guard extremes.low == extremes.high else {
            throw CommunicatorError(
                .mismatch, operation: operation,
                message: "ranks passed different lengths (from \(extremes.low) to \(extremes.high) floats; "
                    + "rank \(me) passed \(count)): every rank must all-reduce the same buffers in the same order")
        }
    }
}

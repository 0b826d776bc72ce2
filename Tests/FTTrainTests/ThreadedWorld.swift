import FTTrain
import Foundation

/// A `TrainingWorld` of threads in one process, for tests of multi-rank training without MPI:
/// every collective is an exchange of each rank's buffer through shared memory; averages sum in
/// rank order, so results are deterministic.
final class ThreadedWorld: TrainingWorld, @unchecked Sendable {
    /// What the ranks of one world share.
    final class Shared: @unchecked Sendable {
        let size: Int
        let condition = NSCondition()
        var generation = 0
        var arrived = 0
        var slots: [[Float]]
        var snapshot: [[Float]] = []

        init(size: Int) {
            self.size = size
            slots = Array(repeating: [], count: size)
        }
    }

    let rank: Int
    let shared: Shared
    var size: Int { shared.size }

    init(rank: Int, shared: Shared) {
        self.rank = rank
        self.shared = shared
    }

    /// Deposits `mine` and returns every rank's deposit once all have arrived.
    func exchange(_ mine: [Float]) -> [[Float]] {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        let generation = shared.generation
        shared.slots[rank] = mine
        shared.arrived += 1
        if shared.arrived == shared.size {
            shared.snapshot = shared.slots
            shared.arrived = 0
            shared.generation += 1
            shared.condition.broadcast()
        } else {
            while shared.generation == generation { shared.condition.wait() }
        }
        return shared.snapshot
    }

    func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        let all = exchange(Array(UnsafeBufferPointer(start: buffer, count: count)))
        for i in 0..<count {
            var sum: Float = 0
            for r in 0..<size { sum += all[r][i] }
            buffer[i] = sum / Float(size)
        }
    }

    func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        let all = exchange(Array(UnsafeBufferPointer(start: buffer, count: count)))
        for i in 0..<count { buffer[i] = all[0][i] }
    }

    func checkSame(_ value: UInt64, what: String) throws {
        let words = (0..<4).map { Float((value >> (16 * UInt64($0))) & 0xFFFF) }
        let all = exchange(words)
        if all.contains(where: { $0 != all[0] }) { throw CheckpointError.incompatible("ranks differ in \(what)") }
    }

    /// Runs `body(world)` for every rank of a new world of `size` threads; returns the results in
    /// rank order, or rethrows the first error.
    static func run<T>(size: Int, _ body: @escaping @Sendable (ThreadedWorld) throws -> T) throws -> [T] {
        let shared = Shared(size: size)
        let box = ResultsBox<T>(size)
        let lock = NSLock()
        let group = DispatchGroup()
        for rank in 0..<size {
            group.enter()
            let thread = Thread {
                let result = Result { try body(ThreadedWorld(rank: rank, shared: shared)) }
                lock.withLock { box.results[rank] = result }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try box.results.map { try $0!.get() }
    }
}

/// The results of the rank threads.
final class ResultsBox<T>: @unchecked Sendable {
    var results: [Result<T, Error>?]
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}

import ArgumentParser
import FTDist
import Foundation

/// `fttrain-dist-check`: checks and times the ring all-reduce under `mpirun`. A test tool of its
/// own executable target, not a subcommand of the shipped `fttrain`.
///
/// - `--mode verify`: rank-dependent integer-valued data (sums are exact in Float) through
///   `RingAllReduce` and `MPI_Allreduce` (the oracle) for lengths 0, 1, size−1, a prime and
///   1_000_003 (plus `--count` if given), also with messages split into small pieces; then
///   error paths that must throw on the ranks involved instead of hanging (mismatched lengths,
///   truncated and short messages). Every outcome is agreed over all ranks; rank 0 prints one
///   `ok`/`FAIL` line per check; the exit status is non-zero on any failure.
/// - `--mode bench`: times `--iterations` runs of each (interleaved) at `--count` floats; rank 0
///   prints one JSON line. Each iteration's time is the slowest rank's.
/// Verify also runs every `AllReducer` algorithm (ring, halving/doubling, hierarchical, mpi, auto)
/// on the node layout MPI reports and on pretend nodes of 2 ranks, against the exact sums.
/// Used by `scripts/mpi_test.sh` and `scripts/bench_allreduce.sh`.
@main
struct DistCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fttrain-dist-check",
        abstract: "Verify or time the ring all-reduce against MPI_Allreduce (run under mpirun).")

    enum Mode: String, ExpressibleByArgument, CaseIterable { case verify, bench }

    @Option(help: "verify | bench")
    var mode: Mode = .verify

    @Option(help: "Floats per buffer (bench default 22_700_000 ≈ 90.8 MB; verify: one extra length).")
    var count: Int?

    @Option(help: "Timed iterations per method (bench).")
    var iterations: Int = 10

    @Option(help: "Untimed warm-up iterations per method (bench).")
    var warmup: Int = 2

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must be non-negative, got \(count)") }
        if iterations < 1 { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        if warmup < 0 { throw ValidationError("--warmup must be non-negative, got \(warmup)") }
    }

    func run() throws {
        let world = try MPICommunicator.initialize()
        let failures: Int
        switch mode {
        case .verify: failures = try DistVerifier(world: world, extraCount: count).run()
        case .bench: failures = try bench(world: world)
        }
        try world.barrier()
        try world.finalize()
        if failures > 0 { throw ExitCode.failure }
    }

    // MARK: - Bench

    private func bench(world: MPICommunicator) throws -> Int {
        let count = self.count ?? 22_700_000
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = Float((i &+ world.rank) % 7) }
        let ring = RingAllReduce(communicator: world, maximumCount: count)
        let ringBody = { try ring.allReduceSum(buffer, count: count) }
        let mpiBody = { try world.allReduceSumMPI(buffer, count: count) }
        for _ in 0..<warmup {
            try ringBody()
            try mpiBody()
        }
        // Interleaved, so that load from other processes falls on both methods alike.
        var ringTimes: [Double] = [], mpiTimes: [Double] = []
        for _ in 0..<iterations {
            ringTimes.append(try timeOnce(world, ringBody))
            mpiTimes.append(try timeOnce(world, mpiBody))
        }
        if world.rank == 0 {
            let ringMedian = median(ringTimes) * 1000
            let mpiMedian = median(mpiTimes) * 1000
            func fixed(_ value: Double) -> String { String(format: "%.3f", value) }
            print(
                "{\"size\": \(world.size), \"count\": \(count), \"bytes\": \(count * MemoryLayout<Float>.size), "
                    + "\"iterations\": \(iterations), \"ring_ms_median\": \(fixed(ringMedian)), "
                    + "\"mpi_allreduce_ms_median\": \(fixed(mpiMedian)), "
                    + "\"ring_ms_min\": \(fixed(ringTimes.min()! * 1000)), "
                    + "\"mpi_allreduce_ms_min\": \(fixed(mpiTimes.min()! * 1000)), "
                    + "\"mpi_over_ring\": \(fixed(mpiMedian / ringMedian))}")
        }
        return 0
    }

    /// Seconds for one call, the maximum over ranks (a collective ends when its slowest rank does).
    private func timeOnce(_ world: MPICommunicator, _ body: () throws -> Void) throws -> Double {
        try world.barrier()
        let start = MPICommunicator.wallTime()
        try body()
        let nanoseconds = Int64((MPICommunicator.wallTime() - start) * 1e9)
        return Double(try world.allReduceMPI(nanoseconds, operation: .max)) / 1e9
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The checks of `fttrain-dist-check --mode verify`. Every check ends with an agreement over all ranks
/// (`MPI_Allreduce` of a failure flag), so all ranks count the same failures.
private struct DistVerifier {
    let world: MPICommunicator
    let extraCount: Int?

    func run() throws -> Int {
        var failures = 0
        var passes = 0
        func record(_ name: String, _ localProblem: String?) throws {
            let failed = try world.allReduceMPI(localProblem == nil ? 0 : 1, operation: .max) != 0
            if let localProblem { FileHandle.standardError.write(Data("rank \(world.rank): FAIL \(name): \(localProblem)\n".utf8)) }
            if failed { failures += 1 } else { passes += 1 }
            if world.rank == 0 { print("\(failed ? "FAIL" : "ok") \(name)") }
        }

        let size = world.size
        var lengths: [Int] = []
        for n in [0, 1, max(size - 1, 0), 7919, 1_000_003] + (extraCount.map { [$0] } ?? []) where !lengths.contains(n) {
            lengths.append(n)
        }
        // A second handle on the same world whose messages travel in pieces of 1000 floats, to
        // exercise the split path that counts above Int32.max take.
        let pieced = try MPICommunicator(handle: world.handle, maxElementsPerMessage: 1000)
        for (label, communicator) in [("", world), (" pieces=1000", pieced)] {
            let ring = RingAllReduce(communicator: communicator)
            for n in lengths where label.isEmpty || n > 1000 {
                try record(
                    "allReduceSum n=\(n) ranks=\(size)\(label) == MPI_Allreduce == expected",
                    checkSum(ring, communicator, count: n))
                try record("allReduceAverage n=\(n) ranks=\(size)\(label)", checkAverage(ring, count: n))
            }
            try record(
                "broadcast n=1_000_003 root=\(size - 1)\(label) == MPI_Bcast",
                checkBroadcast(communicator, count: 1_000_003, root: size - 1))
        }
        // Every algorithm behind `AllReducer`, on the layout MPI reports and, for an even world,
        // on pretend nodes of 2 ranks (so hierarchical runs both its levels on one host).
        let reported = try world.nodeLayout()
        if world.rank == 0 { print("node layout: \(reported)") }
        var layouts = [("", reported)]
        if size % 2 == 0 && size > 2 && reported.nodeCount == 1 {
            layouts.append((" nodes=2x\(size / 2)", .blocks(nodes: 2, ranksPerNode: size / 2)))
        }
        if size % 2 == 0 && size != 4 && reported.nodeCount == 1 { layouts.append((" nodes=\(size / 2)x2", .blocks(nodes: size / 2, ranksPerNode: 2))) }
        for (label, layout) in layouts {
            for algorithm in AllReduceAlgorithm.allCases where algorithm != .hierarchical || layout.isUniform {
                let reducer = try AllReducer(communicator: world, algorithm: algorithm, layout: layout)
                for n in lengths {
                    try record(
                        "\(algorithm.rawValue) n=\(n) ranks=\(size)\(label) == expected", checkReducer(reducer, count: n))
                }
            }
        }
        try record("send to peer \(size) throws invalidArgument", checkBadPeer())
        try record("MPI_Allreduce singleton/size agrees with OMPI_COMM_WORLD_SIZE", checkWorldSize())
        if size >= 2 {
            try record("receive of a longer message throws the MPI error string (MPI_ERR_TRUNCATE)", checkTruncation())
            try record("receive of a shorter message throws sizeMismatch", checkShortMessage())
            // Last: after a failed collective, messages may be left unmatched.
            try record("mismatched length (rank 1 passes n+1) throws on every rank", checkMismatchedLength())
        }
        if world.rank == 0 {
            print("dist-check verify: \(passes) passed, \(failures) failed on \(size) rank\(size == 1 ? "" : "s")")
        }
        return failures
    }

    /// Integer-valued, rank-dependent, both signs; every sum over ≤ 1000 ranks is exact in Float.
    static func value(_ index: Int, rank: Int) -> Float {
        Float((index &* 31 &+ rank &* 17) % 1001 - 500)
    }

    private func filled(_ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        for i in 0..<count { buffer[i] = Self.value(i, rank: world.rank) }
        return buffer
    }

    private func checkSum(_ ring: RingAllReduce, _ communicator: MPICommunicator, count: Int) -> String? {
        let ringBuffer = filled(count), mpiBuffer = filled(count)
        defer {
            ringBuffer.deallocate()
            mpiBuffer.deallocate()
        }
        do {
            try ring.allReduceSum(ringBuffer, count: count)
            try communicator.allReduceSumMPI(mpiBuffer, count: count)
        } catch {
            return "threw \(error)"
        }
        for i in 0..<count {
            var expected: Float = 0
            for r in 0..<world.size { expected += Self.value(i, rank: r) }
            if ringBuffer[i] != mpiBuffer[i] || ringBuffer[i] != expected {
                return "index \(i): ring \(ringBuffer[i]), MPI_Allreduce \(mpiBuffer[i]), expected \(expected)"
            }
        }
        return nil
    }

    private func checkReducer(_ reducer: AllReducer, count: Int) -> String? {
        let buffer = filled(count)
        defer { buffer.deallocate() }
        do { try reducer.allReduceSum(buffer, count: count) } catch { return "threw \(error)" }
        for i in 0..<count {
            var expected: Float = 0
            for r in 0..<world.size { expected += Self.value(i, rank: r) }
            if buffer[i] != expected { return "index \(i): \(buffer[i]), expected \(expected)" }
        }
        return nil
    }

    private func checkAverage(_ ring: RingAllReduce, count: Int) -> String? {
        let buffer = filled(count)
        defer { buffer.deallocate() }
        do { try ring.allReduceAverage(buffer, count: count) } catch { return "threw \(error)" }
        for i in 0..<count {
            var sum: Float = 0
            for r in 0..<world.size { sum += Self.value(i, rank: r) }
            let expected = sum / Float(world.size)
            // Average = exact integer sum scaled once: within one rounding of sum / size.
            if abs(buffer[i] - expected) > 1e-6 * max(1, abs(expected)) {
                return "index \(i): average \(buffer[i]), expected \(expected)"
            }
        }
        return nil
    }

    private func checkBroadcast(_ communicator: MPICommunicator, count: Int, root: Int) -> String? {
        let chain = filled(count), mpi = filled(count)
        defer {
            chain.deallocate()
            mpi.deallocate()
        }
        do {
            try communicator.broadcast(chain, count: count, root: root)
            try communicator.broadcastMPI(mpi, count: count, root: root)
        } catch {
            return "threw \(error)"
        }
        for i in 0..<count where chain[i] != mpi[i] || chain[i] != Self.value(i, rank: root) {
            return "index \(i): broadcast \(chain[i]), MPI_Bcast \(mpi[i]), root's \(Self.value(i, rank: root))"
        }
        return nil
    }

    private func checkBadPeer() -> String? {
        var value: Float = 0
        do {
            try world.send(&value, count: 1, to: world.size, tag: 0)
            return "did not throw"
        } catch let error as CommunicatorError where error.kind == .invalidArgument {
            return nil
        } catch {
            return "threw \(error)"
        }
    }

    private func checkWorldSize() -> String? {
        let environment = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) ?? 1
        return environment == world.size ? nil : "size \(world.size), OMPI_COMM_WORLD_SIZE \(environment)"
    }

    /// Rank 0 sends 8 floats, rank 1 posts a receive for 4: MPI reports MPI_ERR_TRUNCATE, which
    /// must come back as a thrown `.transport` error carrying MPI's text (not a job abort).
    private func checkTruncation() -> String? {
        var buffer = [Float](repeating: 1, count: 8)
        do {
            if world.rank == 0 {
                try world.send(&buffer, count: 8, to: 1, tag: 7)
            } else if world.rank == 1 {
                try world.receive(&buffer, count: 4, from: 0, tag: 7)
                return "did not throw"
            }
        } catch let error as CommunicatorError where world.rank == 1 && error.kind == .transport {
            FileHandle.standardError.write(Data("  rank 1 error (expected): \(error)\n".utf8))
            return error.message.contains("MPI_ERR_TRUNCATE") ? nil : "message lacks MPI's text: \(error)"
        } catch {
            return "threw \(error)"
        }
        return nil
    }

    /// Rank 0 sends 3 floats, rank 1 receives expecting 5: MPI accepts it; the communicator must not.
    private func checkShortMessage() -> String? {
        var buffer = [Float](repeating: 1, count: 5)
        do {
            if world.rank == 0 {
                try world.send(&buffer, count: 3, to: 1, tag: 8)
            } else if world.rank == 1 {
                try world.receive(&buffer, count: 5, from: 0, tag: 8)
                return "did not throw"
            }
        } catch let error as CommunicatorError where world.rank == 1 && error.kind == .sizeMismatch {
            return nil
        } catch {
            return "threw \(error)"
        }
        return nil
    }

    private func checkMismatchedLength() -> String? {
        let count = 1000 + (world.rank == 1 ? 1 : 0)
        let buffer = filled(count)
        defer { buffer.deallocate() }
        let ring = RingAllReduce(communicator: world)
        do {
            try ring.allReduceSum(buffer, count: count)
            return "did not throw"
        } catch {
            if world.rank == 0 { print("  rank 0 error: \(error)") }
            return nil
        }
    }
}

import ArgumentParser
import FTCore
import FTDist
import Foundation

/// `fttrain dist-bench`: measures the all-reduce cost model's parameters under `mpirun` and checks
/// its predictions, or (`--model`) prints the modelled step time of MiniLM at 8 … 1,024 ranks.
///
/// Measure mode, in order (every time is the slowest rank's, median of `--iterations`):
/// 1. γ: adding 4 Mi floats into another buffer, on every rank at once;
/// 2. α and β per link kind from pairwise exchanges (`sendReceive`, the step of every algorithm),
///    all pairs of the link kind at once: shared memory between local positions 2i and 2i+1 of
///    each node, the network between the ranks at the same local position of nodes 2i and 2i+1
///    (`k` streams per node, so the model's per-interface β is the measured one over `k`).
///    α is the 16-byte exchange, β the slope between 1 MiB and 4 MiB;
/// 3. each algorithm (and `auto`) at `--sizes`: measured, predicted, error.
/// Rank 0 prints tables; `--output FILE` writes the fitted model for `ddp_cost_model`.
struct DistBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dist-bench",
        abstract: "Measure the all-reduce cost model under mpirun and check it, or model scale-out (--model).")

    @Flag(help: "Print the modelled step time and efficiency of MiniLM at 8 … 1,024 ranks (no mpirun).")
    var model = false

    @Option(help: "Buffer sizes in bytes, comma-separated (measure mode).")
    var sizes: String = "4096,65536,1048576,16777216,94371840"

    @Option(help: "Algorithms to time, comma-separated (auto, ring, halving_doubling, hierarchical, mpi).")
    var algorithms: String = "ring,halving_doubling,hierarchical,mpi,auto"

    @Option(help: "Timed iterations per point (median; buffers of 16 MB and more take half, at least 3).")
    var iterations: Int = 7

    @Option(help: "Treat every K consecutive ranks as one node instead of asking MPI (e.g. to exercise hierarchical on one host).")
    var ranksPerNode: Int?

    @Option(help: "Write the fitted cost model here (JSON for ddp_cost_model).")
    var output: String?

    @Option(help: "--model: a cost model file for shared memory and additions (default: built-in figures).")
    var costModel: String?

    @Option(help: "--model: ranks per node.")
    var modelRanksPerNode: Int = 8

    @Option(help: "--model: seconds of one MiniLM full fine-tuning step's compute (default: README's 32 × 128 at 23.6 samples/s).")
    var fullStepSeconds: Double = 32 / 23.6

    @Option(help: "--model: seconds of one MiniLM LoRA step's compute (default: README's 32 × 128 at 34.0 samples/s).")
    var loraStepSeconds: Double = 32 / 34.0

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        if let ranksPerNode, ranksPerNode < 1 { throw ValidationError("--ranks-per-node must be at least 1, got \(ranksPerNode)") }
        if modelRanksPerNode < 1 { throw ValidationError("--model-ranks-per-node must be at least 1, got \(modelRanksPerNode)") }
        _ = try parsedSizes()
        _ = try parsedAlgorithms()
    }

    func parsedSizes() throws -> [Int] {
        let values = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 4 }) else {
            throw ValidationError("--sizes must be byte counts >= 4, comma-separated; got \(sizes)")
        }
        return values.map { $0! }
    }

    func parsedAlgorithms() throws -> [AllReduceAlgorithm] {
        try algorithms.split(separator: ",").map { name in
            guard let algorithm = AllReduceAlgorithm(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError(
                    "--algorithms: unknown `\(name)`; one of " + AllReduceAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return algorithm
        }
    }

    func run() throws {
        if model {
            let base = try costModel.map { try AllReduceCostModel.load(contentsOf: $0) } ?? .defaults
            printScalingModel(base: base)
            return
        }
        let world = try MPICommunicator.initialize()
        defer { try? world.finalize() }
        guard world.size > 1 else {
            throw ValidationError("dist-bench measures between ranks: run it under mpirun with at least 2 ranks (or pass --model)")
        }
        let layout =
            try ranksPerNode.map { k -> NodeLayout in
                guard world.size % k == 0 else {
                    throw ValidationError("--ranks-per-node \(k) does not divide the \(world.size) ranks")
                }
                return .blocks(nodes: world.size / k, ranksPerNode: k)
            } ?? world.nodeLayout()
        var bench = DistBench(world: world, layout: layout, iterations: iterations)
        let fitted = try bench.fitCostModel()
        if world.rank == 0 {
            print("layout: \(layout); load: \(Self.loadAverage())")
            print(String(format: "add (γ): %.3f GB/s", 1e-9 / fitted.reduceSecondsPerByte))
            print(String(format: "shared memory: α %.2f µs, β %.3f GB/s", fitted.sharedMemory.alpha * 1e6, 1e-9 / fitted.sharedMemory.beta))
            if layout.nodeCount > 1 {
                print(String(format: "network: α %.2f µs, β %.3f GB/s per interface", fitted.network.alpha * 1e6, 1e-9 / fitted.network.beta))
            }
            if let large = fitted.largeBuffers {
                print(
                    String(
                        format: "buffers over %d MiB (from memory): shared memory β %.3f GB/s, network β %.3f GB/s, add (γ) %.3f GB/s",
                        large.thresholdBytes >> 20, 1e-9 / large.sharedMemoryBeta, 1e-9 / large.networkBeta, 1e-9 / large.reduceSecondsPerByte))
            }
            if let output { try fitted.write(to: output) }
        }
        try bench.compare(model: fitted, sizes: try parsedSizes(), algorithms: try parsedAlgorithms())
        try world.barrier()
    }

    /// `/proc/loadavg`'s first three fields (the machine's load beside every figure).
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}

/// The measurements of `dist-bench` on one MPI world.
struct DistBench {
    let world: MPICommunicator
    let layout: NodeLayout
    let iterations: Int

    /// Seconds of `body` on the slowest rank, median of `repeats` (after one untimed run).
    func time(repeats: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            try world.barrier()
            let start = MPICommunicator.wallTime()
            try body()
            let nanoseconds = Int64((MPICommunicator.wallTime() - start) * 1e9)
            times.append(Double(try world.allReduceMPI(nanoseconds, operation: .max)) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// γ, then α and β of each link kind present (the other keeps the built-in figures).
    mutating func fitCostModel() throws -> AllReduceCostModel {
        var model = AllReduceCostModel.defaults
        let count = 4 << 20
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count), b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer {
            a.deallocate()
            b.deallocate()
        }
        a.initialize(repeating: 1, count: count)
        b.initialize(repeating: 2, count: count)
        let add = try time(repeats: iterations) { AllReduceKernel.add(a, b, count: count) }
        model.reduceSecondsPerByte = add / Double(4 * count)

        let local = layout.nodes[layout.nodeOfRank[world.rank]]
        let position = local.firstIndex(of: world.rank)!
        // Shared memory: local positions 2i ↔ 2i+1 (a node's odd last rank idles).
        let sharedPartner: Int? = position ^ 1 < local.count ? local[position ^ 1] : nil
        // Network: nodes 2j ↔ 2j+1, same local position (an odd last node idles).
        let measuresNetwork = layout.nodeCount > 1 && layout.isUniform
        let node = layout.nodeOfRank[world.rank]
        let networkPartner: Int? = measuresNetwork && node ^ 1 < layout.nodeCount ? layout.nodes[node ^ 1][position] : nil
        if layout.ranksPerNode > 1 {
            model.sharedMemory = try fitLink(partner: sharedPartner)
        }
        if measuresNetwork {
            var link = try fitLink(partner: networkPartner)
            link.beta /= Double(layout.ranksPerNode)  // k streams shared one interface
            model.network = link
        }
        model.largeBuffers = try fitLargeBuffers(
            model: model, sharedPartner: layout.ranksPerNode > 1 ? sharedPartner : nil, measuresShared: layout.ranksPerNode > 1,
            networkPartner: networkPartner, measuresNetwork: measuresNetwork)
        model.source = "dist-bench: \(layout), load \(DistBenchCommand.loadAverage())"
        return model
    }

    /// α (16-byte exchange) and β (slope from 1 MiB to 4 MiB) of exchanges with `partner`.
    func fitLink(partner: Int?) throws -> AllReduceCostModel.Link {
        let largest = 1 << 20  // floats
        let send = UnsafeMutablePointer<Float>.allocate(capacity: largest), receive = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        defer {
            send.deallocate()
            receive.deallocate()
        }
        send.initialize(repeating: 1, count: largest)
        func exchange(_ floats: Int) throws {
            guard let partner else { return }
            try world.sendReceive(send: send, sendCount: floats, to: partner, receive: receive, receiveCount: floats, from: partner, tag: 31_000)
        }
        // Many exchanges per timing for the small one (the barrier costs more than one message).
        let small = try time(repeats: iterations) { for _ in 0..<50 { try exchange(4) } } / 50
        let middle = try time(repeats: iterations) { try exchange(largest / 4) }
        let large = try time(repeats: iterations) { try exchange(largest) }
        let beta = max((large - middle) / Double(4 * (largest - largest / 4)), 1e-13)
        return .init(alpha: max(small - 16 * beta, 0), beta: beta)
    }

    /// β and γ for buffers that outgrow the caches, and the size where that starts. The exchanges
    /// walk a region in the algorithms' 1 MiB segments, one after the other, as an all-reduce walks
    /// its buffer: a 2 MiB region stays in cache between passes, a 64 MiB one comes from memory.
    /// The threshold is the largest region whose cost per byte is still nearer the small region's.
    func fitLargeBuffers(
        model: AllReduceCostModel, sharedPartner: Int?, measuresShared: Bool, networkPartner: Int?, measuresNetwork: Bool
    ) throws -> AllReduceCostModel.LargeBufferFigures {
        let largest = 64 << 20
        let regions = [2 << 20, 4 << 20, 8 << 20, 16 << 20, 32 << 20, largest]
        let floats = largest / 4
        let send = UnsafeMutablePointer<Float>.allocate(capacity: floats), receive = UnsafeMutablePointer<Float>.allocate(capacity: floats)
        defer {
            send.deallocate()
            receive.deallocate()
        }
        send.initialize(repeating: 1, count: floats)
        receive.initialize(repeating: 0, count: floats)
        func walk(_ partner: Int?, _ bytes: Int) throws -> Double {
            let segment = (1 << 20) / 4
            let seconds = try time(repeats: iterations) {
                guard let partner else { return }
                var offset = 0
                while offset < bytes / 4 {
                    let count = min(segment, bytes / 4 - offset)
                    try world.sendReceive(
                        send: send + offset, sendCount: count, to: partner, receive: receive + offset, receiveCount: count, from: partner,
                        tag: 31_001)
                    offset += count
                }
            }
            return seconds / Double(bytes)
        }
        // The threshold comes from shared memory when a node has two ranks, else from the network.
        var threshold = largest
        var sharedBeta = model.sharedMemory.beta, networkBeta = model.network.beta
        if measuresShared || measuresNetwork {
            let costs = try regions.map { try walk(measuresShared ? sharedPartner : networkPartner, $0) }
            let middle = (costs.first! + costs.last!) / 2
            threshold = Array(zip(regions, costs)).last(where: { $0.1 <= middle })?.0 ?? regions[0]
            if measuresShared { sharedBeta = costs.last! }
            if measuresNetwork {
                networkBeta = (measuresShared ? try walk(networkPartner, largest) : costs.last!) / Double(layout.ranksPerNode)
            }
        }
        // γ on two 64 MiB arrays (the in-cache γ above uses 16 MiB ones).
        let add = try time(repeats: iterations) { AllReduceKernel.add(receive, send, count: floats) }
        return .init(
            thresholdBytes: threshold, sharedMemoryBeta: sharedBeta, networkBeta: networkBeta,
            reduceSecondsPerByte: max(add / Double(largest), model.reduceSecondsPerByte))
    }

    /// Times every algorithm at every size and prints measured against predicted (rank 0).
    func compare(model: AllReduceCostModel, sizes: [Int], algorithms: [AllReduceAlgorithm]) throws {
        let largest = sizes.max()! / 4
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        defer { buffer.deallocate() }
        for i in 0..<largest { buffer[i] = Float((i &+ world.rank) % 7) }
        let modelLayout = AllReduceCostModel.Layout(layout)
        if world.rank == 0 {
            print("| algorithm | bytes | measured ms | predicted ms | error |")
            print("|---|---|---|---|---|")
        }
        var errors: [Double] = []
        for algorithm in algorithms {
            if algorithm == .hierarchical && !layout.isUniform { continue }
            let reducer = try AllReducer(communicator: world, algorithm: algorithm, layout: layout, costModel: model, maximumCount: largest)
            for bytes in sizes {
                let count = bytes / 4
                let repeats = bytes >= 16 << 20 ? max(3, iterations / 2) : iterations
                let measured = try time(repeats: repeats) { try reducer.allReduceSum(buffer, count: count) }
                // Keep values small: the sums grow by `size` per call.
                for i in 0..<count { buffer[i] = Float((i &+ world.rank) % 7) }
                let predicted = model.predictedSeconds(algorithm, bytes: bytes, layout: modelLayout)
                let error = (predicted - measured) / measured
                errors.append(abs(error))
                if world.rank == 0 {
                    let name = algorithm == .auto ? "auto (\(reducer.algorithm(forCount: count).rawValue))" : algorithm.rawValue
                    print(String(format: "| %@ | %d | %.3f | %.3f | %+.0f%% |", name, bytes, measured * 1e3, predicted * 1e3, error * 100))
                }
            }
        }
        if world.rank == 0 && !errors.isEmpty {
            let sorted = errors.sorted()
            print(
                String(
                    format: "model error: median %.0f%%, worst %.0f%% over %d points", sorted[sorted.count / 2] * 100, sorted.last! * 100,
                    sorted.count))
        }
    }
}

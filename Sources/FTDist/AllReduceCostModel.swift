import Foundation

/// The α–β(–γ) model of the all-reduce algorithms (Hockney; Thakur, Rabenseifner & Gropp 2005):
/// a message of `b` bytes over a link costs `α + b·β`, adding `b` received bytes costs `b·γ`.
/// `AllReducer` uses it to pick an algorithm per bucket (`ddp_allreduce_algorithm: auto`),
/// `fttrain dist-bench` measures its parameters and checks its predictions, and `--model` uses
/// it for clusters nobody here has.
///
/// Links: `sharedMemory` between ranks of one node, `network` between nodes. `network.beta` is
/// seconds per byte through one node's network interface: when `s` ranks of a node send across
/// at once (halving/doubling's far steps, the hierarchical shards), each stream gets `1/s` of it.
/// Messages are cut into segments of `segmentBytes`, each paying `α`.
///
/// With `n = N·k` ranks (`N` nodes of `k`), `m` bytes, `p` the largest power of two `≤ n`:
///
/// ```
/// ring             (n−1)·[msg(m/n) + γ·m/n]  +  (n−1)·msg(m/n)      link: network if N > 1
/// halving/doubling fold (n ≠ p): 2·msg(m) + γ·m, then for d = p/2 … 1:
///                  2·msg(m·d/p) + γ·m·d/p, over shared memory when d < k, else the
///                  network with k streams per node
/// hierarchical     ring reduce-scatter + all-gather over k (shared memory), then the faster of
///                  ring and halving/doubling over N nodes on m/k bytes with k streams per node
/// mpi              the faster of ring and halving/doubling (Open MPI's tuned choice, roughly)
/// every algorithm  + the length agreement: (log₂ p + 2·[n ≠ p]) · (α + 32 bytes · β)
/// ```
///
/// Buffers larger than `largeBuffers.thresholdBytes` (per rank) no longer stay in cache: their
/// copies and additions run at memory speed, several times slower than the 1–4 MiB exchanges that
/// fit β. For them the model takes the large-buffer β and γ (`dist-bench` measures both).
public struct AllReduceCostModel: Codable, Sendable, Equatable {
    /// One kind of link.
    public struct Link: Codable, Sendable, Equatable {
        /// Seconds per message (latency and software overhead).
        public var alpha: Double
        /// Seconds per byte of a single stream (1 / bandwidth).
        public var beta: Double

        public init(alpha: Double, beta: Double) {
            self.alpha = alpha
            self.beta = beta
        }
    }

    /// Ranks of one node (Open MPI's shared-memory transport).
    public var sharedMemory: Link
    /// Between nodes (TCP).
    public var network: Link
    /// Seconds per byte to add a received buffer into the local one (γ).
    public var reduceSecondsPerByte: Double
    /// Bytes per message within one step (the algorithms' segment: 256 Ki floats = 1 MiB).
    public var segmentBytes: Int
    /// Where the figures come from (shown by `dist-bench` and the training log).
    public var source: String
    /// Figures for buffers that outgrow the caches; `nil`: the same figures at every size (and in
    /// model files written before they existed).
    public var largeBuffers: LargeBufferFigures?

    /// β and γ for an all-reduce whose buffer (per rank) is larger than `thresholdBytes`.
    public struct LargeBufferFigures: Codable, Sendable, Equatable {
        /// Buffers of more bytes than this (per rank) use these figures.
        public var thresholdBytes: Int
        /// Seconds per byte over shared memory when the data comes from memory.
        public var sharedMemoryBeta: Double
        /// Seconds per byte through a node's network interface when the data comes from memory.
        public var networkBeta: Double
        /// Seconds per byte to add buffers that come from memory.
        public var reduceSecondsPerByte: Double

        public init(thresholdBytes: Int, sharedMemoryBeta: Double, networkBeta: Double, reduceSecondsPerByte: Double) {
            self.thresholdBytes = thresholdBytes
            self.sharedMemoryBeta = sharedMemoryBeta
            self.networkBeta = networkBeta
            self.reduceSecondsPerByte = reduceSecondsPerByte
        }
    }

    public init(
        sharedMemory: Link, network: Link, reduceSecondsPerByte: Double, segmentBytes: Int = 1 << 20, source: String,
        largeBuffers: LargeBufferFigures? = nil
    ) {
        self.largeBuffers = largeBuffers
        self.sharedMemory = sharedMemory
        self.network = network
        self.reduceSecondsPerByte = reduceSecondsPerByte
        self.segmentBytes = segmentBytes
        self.source = source
    }

    /// Figures for a commodity cluster, used when `ddp_cost_model` is not set: shared memory 1 µs
    /// and 5 GB/s, a 10 Gbit/s network with 30 µs per message over TCP, additions at 4 GB/s.
    public static let defaults = AllReduceCostModel(
        sharedMemory: Link(alpha: 1e-6, beta: 1 / 5e9),
        network: Link(alpha: 30e-6, beta: 8 / 10e9),
        reduceSecondsPerByte: 1 / 4e9,
        source: "defaults (shared memory 1 µs, 5 GB/s; network 30 µs, 10 Gbit/s; add 4 GB/s)")

    /// Where the ranks are: `nodes` nodes of `ranksPerNode` ranks.
    public struct Layout: Sendable, Equatable {
        public var nodes: Int
        public var ranksPerNode: Int
        public var size: Int { nodes * ranksPerNode }

        public init(nodes: Int, ranksPerNode: Int) {
            precondition(nodes >= 1 && ranksPerNode >= 1, "a layout needs at least one node and one rank per node")
            self.nodes = nodes
            self.ranksPerNode = ranksPerNode
        }

        /// The model's view of a `NodeLayout` (its largest node for a non-uniform one).
        public init(_ layout: NodeLayout) {
            self.init(nodes: layout.nodeCount, ranksPerNode: layout.ranksPerNode)
        }
    }

    // MARK: - Predictions

    /// Predicted seconds of one all-reduce of `bytes` with `algorithm` (`auto`: the fastest).
    public func predictedSeconds(_ algorithm: AllReduceAlgorithm, bytes: Int, layout: Layout) -> Double {
        if let large = largeBuffers, bytes > large.thresholdBytes {
            return figures(forBufferBytes: bytes).predictedSeconds(algorithm, bytes: bytes, layout: layout)
        }
        let n = layout.size
        guard n > 1, bytes > 0 else { return 0 }
        let m = Double(bytes)
        let collective: Double
        switch algorithm {
        case .ring: collective = ringSeconds(ranks: n, bytes: m, link: layout.nodes > 1 ? network : sharedMemory, streams: 1)
        case .halvingDoubling: collective = halvingDoublingSeconds(bytes: m, layout: layout)
        case .hierarchical: collective = hierarchicalSeconds(bytes: m, layout: layout)
        case .mpi:
            collective = min(
                ringSeconds(ranks: n, bytes: m, link: layout.nodes > 1 ? network : sharedMemory, streams: 1),
                halvingDoublingSeconds(bytes: m, layout: layout))
        case .auto: return predictedSeconds(fastest(bytes: bytes, layout: layout), bytes: bytes, layout: layout)
        }
        return collective + lengthAgreementSeconds(layout: layout)
    }

    /// The algorithm of `candidates` with the smallest prediction (ties: the earlier one).
    public func fastest(bytes: Int, layout: Layout, among candidates: [AllReduceAlgorithm] = AllReduceAlgorithm.modelled) -> AllReduceAlgorithm {
        var best = candidates[0]
        var bestSeconds = Double.infinity
        for candidate in candidates where candidate != .auto {
            let seconds = predictedSeconds(candidate, bytes: bytes, layout: layout)
            if seconds < bestSeconds {
                best = candidate
                bestSeconds = seconds
            }
        }
        return best
    }

    /// The cross-node algorithm `hierarchical` uses for its shards of a `bytes` buffer.
    public func hierarchicalInner(bytes: Int, layout: Layout) -> AllReduceAlgorithm {
        if let large = largeBuffers, bytes > large.thresholdBytes {
            return figures(forBufferBytes: bytes).hierarchicalInner(bytes: bytes, layout: layout)
        }
        let shard = Double(bytes) / Double(layout.ranksPerNode)
        let ring = ringSeconds(ranks: layout.nodes, bytes: shard, link: network, streams: layout.ranksPerNode)
        let halving = halvingDoublingSeconds(bytes: shard, layout: Layout(nodes: layout.nodes, ranksPerNode: 1), streams: layout.ranksPerNode)
        return halving <= ring ? .halvingDoubling : .ring
    }

    /// The length agreement every `AllReducer` call starts with (recursive doubling of 32 bytes).
    public func lengthAgreementSeconds(layout: Layout) -> Double {
        let n = layout.size
        guard n > 1 else { return 0 }
        let p = HalvingDoublingAllReduce.largestPowerOfTwo(atMost: n)
        let steps = p.trailingZeroBitCount + (n == p ? 0 : 2)
        let link = layout.nodes > 1 ? network : sharedMemory
        return Double(steps) * (link.alpha + 32 * link.beta)
    }

    /// The model with the figures that apply to an all-reduce of a `bytes` buffer (one regime).
    public func figures(forBufferBytes bytes: Int) -> AllReduceCostModel {
        guard let large = largeBuffers, bytes > large.thresholdBytes else { return self }
        var model = self
        model.sharedMemory.beta = large.sharedMemoryBeta
        model.network.beta = large.networkBeta
        model.reduceSecondsPerByte = large.reduceSecondsPerByte
        model.largeBuffers = nil
        return model
    }

    // MARK: - The formulas

    /// One step's message of `bytes` over `link` shared by `streams` streams: α per segment.
    func message(_ bytes: Double, _ link: Link, streams: Int = 1) -> Double {
        guard bytes > 0 else { return 0 }
        let segments = max(1, (bytes / Double(segmentBytes)).rounded(.up))
        return segments * link.alpha + bytes * link.beta * Double(streams)
    }

    func ringSeconds(ranks n: Int, bytes m: Double, link: Link, streams: Int) -> Double {
        guard n > 1 else { return 0 }
        let chunk = m / Double(n)
        let steps = Double(n - 1)
        return steps * (message(chunk, link, streams: streams) + reduceSecondsPerByte * chunk)
            + steps * message(chunk, link, streams: streams)
    }

    func halvingDoublingSeconds(bytes m: Double, layout: Layout, streams crossStreams: Int? = nil) -> Double {
        let n = layout.size, k = layout.ranksPerNode
        guard n > 1 else { return 0 }
        let p = HalvingDoublingAllReduce.largestPowerOfTwo(atMost: n)
        let far = crossStreams ?? k
        var seconds = 0.0
        if n != p {
            let link = k >= 2 ? sharedMemory : network
            seconds += 2 * message(m, link) + reduceSecondsPerByte * m
        }
        var distance = p / 2
        while distance >= 1 {
            let bytes = m * Double(distance) / Double(p)
            let near = distance < k
            let hop = message(bytes, near ? sharedMemory : network, streams: near ? 1 : far)
            seconds += 2 * hop + reduceSecondsPerByte * bytes
            distance /= 2
        }
        return seconds
    }

    func hierarchicalSeconds(bytes m: Double, layout: Layout) -> Double {
        let k = layout.ranksPerNode, nodes = layout.nodes
        let intra = ringSeconds(ranks: k, bytes: m, link: sharedMemory, streams: 1)
        guard nodes > 1 else { return intra }
        let shard = m / Double(k)
        let inter = min(
            ringSeconds(ranks: nodes, bytes: shard, link: network, streams: k),
            halvingDoublingSeconds(bytes: shard, layout: Layout(nodes: nodes, ranksPerNode: 1), streams: k))
        return intra + inter
    }

    // MARK: - Files

    /// Reads a model written by `fttrain dist-bench --output` (`ddp_cost_model`).
    /// - Throws: `CostModelError` naming the file and what is wrong with it.
    public static func load(contentsOf path: String) throws -> AllReduceCostModel {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CostModelError(path: path, problem: "cannot be read (\(error.localizedDescription))")
        }
        let model: AllReduceCostModel
        do {
            model = try JSONDecoder().decode(AllReduceCostModel.self, from: data)
        } catch {
            throw CostModelError(path: path, problem: "is not a cost model written by `fttrain dist-bench --output` (\(error))")
        }
        for (name, value) in [
            ("sharedMemory.alpha", model.sharedMemory.alpha), ("sharedMemory.beta", model.sharedMemory.beta),
            ("network.alpha", model.network.alpha), ("network.beta", model.network.beta),
            ("reduceSecondsPerByte", model.reduceSecondsPerByte),
        ] where !(value >= 0 && value.isFinite) {
            throw CostModelError(path: path, problem: "has \(name) = \(value); it must be a finite number >= 0 (seconds)")
        }
        if let large = model.largeBuffers {
            for (name, value) in [
                ("largeBuffers.sharedMemoryBeta", large.sharedMemoryBeta), ("largeBuffers.networkBeta", large.networkBeta),
                ("largeBuffers.reduceSecondsPerByte", large.reduceSecondsPerByte),
            ] where !(value >= 0 && value.isFinite) {
                throw CostModelError(path: path, problem: "has \(name) = \(value); it must be a finite number >= 0 (seconds)")
            }
            guard large.thresholdBytes > 0 else {
                throw CostModelError(path: path, problem: "has largeBuffers.thresholdBytes = \(large.thresholdBytes); it must be > 0")
            }
        }
        guard model.segmentBytes > 0 else {
            throw CostModelError(path: path, problem: "has segmentBytes = \(model.segmentBytes); it must be > 0")
        }
        return model
    }

    /// Writes the model as pretty JSON (what `load(contentsOf:)` reads).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// A cost-model file that cannot be used, naming the file and the problem.
public struct CostModelError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var problem: String
    public var description: String { "ddp_cost_model \(path) \(problem)" }
}

import FTCore

/// A transport with its own all-reduce (`MPI_Allreduce`), for `AllReduceAlgorithm.mpi`.
public protocol NativeAllReduce {
    /// Collective, in place: the element-wise sum over all ranks (no length check).
    func nativeAllReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
}

/// Every all-reduce algorithm behind one call: what the trainer averages gradient buckets with.
///
/// `algorithm` is fixed (`ring`, `halvingDoubling`, `hierarchical`, `mpi`) or `auto`, which asks
/// `costModel` per call for the fastest of ring, halving/doubling and (on a multi-node, uniform
/// layout) hierarchical for that many bytes; `hierarchical` picks its cross-node algorithm the same
/// way. Each call first agrees on the length over all ranks (`agreeOnLength`, `log₂ n` tiny
/// messages), so a mismatch throws `.mismatch` on every rank instead of hanging.
///
/// Numerical contract: every algorithm leaves the element-wise sum in every rank's buffer,
/// bit-identical on all ranks; the algorithms add in different orders, so they agree with each
/// other exactly on integer-valued data (below 2^24) and to float rounding otherwise. With
/// `.bf16` compression the ring is used whatever `algorithm` says (only it rounds per hop).
///
/// Not thread-safe: one instance per rank, used from one thread, collectively on all ranks.
public final class AllReducer {
    public let communicator: any Communicator
    public let algorithm: AllReduceAlgorithm
    public let layout: NodeLayout
    public let costModel: AllReduceCostModel
    public let compression: RingAllReduce.Compression
    /// Whether each call first agrees on the length over all ranks (cheap, recommended).
    public var checksLengths = true

    private let ring: RingAllReduce
    private let halvingDoubling: HalvingDoublingAllReduce
    private let hierarchical: HierarchicalAllReduce?
    private let modelLayout: AllReduceCostModel.Layout

    /// - Parameters:
    ///   - layout: which ranks share a node; nil: all on one node.
    ///   - maximumCount: the largest count expected (scratch is allocated once for it).
    /// - Throws: `CommunicatorError(.invalidArgument)` when `algorithm` cannot run here: `mpi`
    ///   without an MPI communicator, `hierarchical` on nodes of different sizes, or a layout
    ///   of another size than the world.
    public init(
        communicator: any Communicator, algorithm: AllReduceAlgorithm = .auto, layout: NodeLayout? = nil,
        costModel: AllReduceCostModel = .defaults, compression: RingAllReduce.Compression = .none,
        maximumCount: Int = 0, segmentSize: Int = 256 * 1024
    ) throws {
        let layout = layout ?? .singleNode(size: communicator.size)
        func refuse(_ message: String) -> CommunicatorError {
            CommunicatorError(.invalidArgument, operation: "ddp_allreduce_algorithm \(algorithm.rawValue)", message: message)
        }
        guard layout.size == communicator.size else {
            throw refuse("the node layout covers \(layout.size) ranks but the world has \(communicator.size)")
        }
        if algorithm == .mpi && !(communicator is NativeAllReduce) {
            throw refuse("needs an MPI communicator (run under mpirun)")
        }
        if algorithm == .hierarchical && !layout.isUniform {
            throw refuse("needs the same number of ranks on every node; this job has \(layout) (use auto, ring or halving_doubling)")
        }
        self.communicator = communicator
        self.algorithm = algorithm
        self.layout = layout
        self.costModel = costModel
        self.compression = compression
        ring = RingAllReduce(
            communicator: communicator, maximumCount: maximumCount, segmentSize: segmentSize,
            compression: compression, checksLengths: false)
        halvingDoubling = HalvingDoublingAllReduce(communicator: communicator, segmentSize: segmentSize)
        hierarchical =
            layout.isUniform
            ? HierarchicalAllReduce(communicator: communicator, layout: layout, ring: ring, halvingDoubling: halvingDoubling)
            : nil
        modelLayout = AllReduceCostModel.Layout(layout)
    }

    /// The algorithm a call of `count` floats runs (what `auto` resolves to).
    public func algorithm(forCount count: Int) -> AllReduceAlgorithm {
        if compression == .bf16 { return .ring }
        guard algorithm == .auto else { return algorithm }
        let candidates: [AllReduceAlgorithm] =
            hierarchical != nil && layout.nodeCount > 1 && layout.ranksPerNode > 1
            ? [.ring, .halvingDoubling, .hierarchical] : [.ring, .halvingDoubling]
        return costModel.fastest(bytes: count * MemoryLayout<Float>.size, layout: modelLayout, among: candidates)
    }

    /// Collective, in place: every rank's `buffer` becomes the element-wise sum over all ranks.
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try reduce(buffer, count: count, operation: "allReduceSum")
    }

    /// Collective, in place: the sum divided by `size` (the mean), as `RingAllReduce`'s.
    public func allReduceAverage(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try reduce(buffer, count: count, operation: "allReduceAverage")
        guard communicator.size > 1 else { return }
        AllReduceKernel.divide(buffer, by: Float(communicator.size), count: count)
    }

    /// `allReduceSum` over a whole array.
    public func allReduceSum(_ values: inout [Float]) throws {
        let count = values.count
        try values.withUnsafeMutableBufferPointer { buffer in
            try allReduceSum(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!, count: count)
        }
    }

    private func reduce(_ buffer: UnsafeMutablePointer<Float>, count: Int, operation: String) throws {
        precondition(count >= 0, "\(operation): negative count")
        guard communicator.size > 1 else { return }
        if checksLengths { try communicator.agreeOnLength(count, operation: operation) }
        guard count > 0 else { return }
        switch algorithm(forCount: count) {
        case .auto, .ring:
            try ring.allReduceSum(buffer, count: count)
        case .halvingDoubling:
            try halvingDoubling.allReduceSum(buffer, count: count, group: .world(communicator), tag: CollectiveTag.allReduce)
        case .hierarchical:
            let inner = costModel.hierarchicalInner(bytes: count * MemoryLayout<Float>.size, layout: modelLayout)
            try hierarchical!.allReduceSum(buffer, count: count, inner: inner)
        case .mpi:
            try (communicator as! NativeAllReduce).nativeAllReduceSum(buffer, count: count)
        }
    }
}

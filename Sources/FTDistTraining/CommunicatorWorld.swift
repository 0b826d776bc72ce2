import FTDist
import FTTrain
import Foundation

/// Adapts an FTDist communicator to the trainer's `TrainingWorld`: gradients are averaged by an
/// `AllReducer` (`ddp_allreduce_algorithm`, optionally bf16 on the wire), scalars by the ring,
/// parameters broadcast from rank 0, checksums compared on every rank.
public final class CommunicatorWorld: TrainingWorld {
    public let communicator: any Communicator
    /// What averages the gradient buckets (its `algorithm(forCount:)` tells what `auto` picks).
    public let gradientReducer: AllReducer
    private let ring: RingAllReduce

    /// `auto` over the node layout MPI reports (one node for other communicators), with the
    /// built-in cost model.
    /// - Parameter bf16: send gradients as bfloat16 on the wire (`ddp_bf16_compression`).
    public convenience init(communicator: any Communicator, maximumCount: Int = 0, bf16: Bool = false) {
        // `auto` on the world's own layout cannot be refused, hence `try!`.
        try! self.init(communicator: communicator, maximumCount: maximumCount, bf16: bf16, algorithm: .auto)
    }

    /// - Parameters:
    ///   - algorithm: `ddp_allreduce_algorithm`.
    ///   - costModel: what `auto` chooses by (`ddp_cost_model`).
    ///   - layout: which ranks share a node; nil asks MPI (`MPICommunicator.nodeLayout()`, a
    ///     collective) or, for other communicators, puts every rank on one node.
    /// - Throws: `CommunicatorError(.invalidArgument)` naming `ddp_allreduce_algorithm` when the
    ///   algorithm cannot run on this job (e.g. `hierarchical` on nodes of different sizes).
    public init(
        communicator: any Communicator, maximumCount: Int = 0, bf16: Bool = false,
        algorithm: AllReduceAlgorithm, costModel: AllReduceCostModel = .defaults, layout: NodeLayout? = nil
    ) throws {
        self.communicator = communicator
        ring = RingAllReduce(communicator: communicator)
        let layout = layout ?? Self.pretendLayout(size: communicator.size) ?? (try? (communicator as? MPICommunicator)?.nodeLayout()) ?? nil
        gradientReducer = try AllReducer(
            communicator: communicator, algorithm: algorithm, layout: layout, costModel: costModel,
            compression: bf16 ? .bf16 : .none, maximumCount: maximumCount)
    }

    /// `FTTRAIN_RANKS_PER_NODE=K` (a test knob): treat every K consecutive ranks as one node, so
    /// `hierarchical` runs both its levels on one host (`scripts/allreduce_train_check.sh`).
    static func pretendLayout(size: Int) -> NodeLayout? {
        guard let text = ProcessInfo.processInfo.environment["FTTRAIN_RANKS_PER_NODE"], let k = Int(text), k >= 1, size % k == 0
        else { return nil }
        return .blocks(nodes: size / k, ranksPerNode: k)
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    public func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try ring.allReduceAverage(buffer, count: count)
    }

    public func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try gradientReducer.allReduceAverage(buffer, count: count)
    }

    public func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try communicator.broadcast(buffer, count: count, root: 0)
    }

    public func checkSame(_ value: UInt64, what: String) throws {
        try communicator.checkSameValue(value, what: what)
    }
}

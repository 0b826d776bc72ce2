import FTDist
import FTTrain

/// Adapts an FTDist communicator to the trainer's `TrainingWorld`: gradients are averaged by the
/// ring all-reduce (optionally bf16 on the wire), scalars exactly, parameters broadcast from
/// rank 0, checksums compared on every rank.
public final class CommunicatorWorld: TrainingWorld {
    public let communicator: any Communicator
    private let ring: RingAllReduce
    private let gradientRing: RingAllReduce

    /// - Parameter bf16: send gradients as bfloat16 on the wire (`ddp_bf16_compression`).
    public init(communicator: any Communicator, maximumCount: Int = 0, bf16: Bool = false) {
        self.communicator = communicator
        ring = RingAllReduce(communicator: communicator)
        gradientRing = bf16 ? RingAllReduce(communicator: communicator, maximumCount: maximumCount, compression: .bf16) : ring
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    public func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try ring.allReduceAverage(buffer, count: count)
    }

    public func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try gradientRing.allReduceAverage(buffer, count: count)
    }

    public func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try communicator.broadcast(buffer, count: count, root: 0)
    }

    public func checkSame(_ value: UInt64, what: String) throws {
        try communicator.checkSameValue(value, what: what)
    }
}

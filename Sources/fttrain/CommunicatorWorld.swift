import FTDist
import FTTrain

/// Adapts an FTDist communicator to the trainer's `TrainingWorld`: gradients are averaged by the
/// ring all-reduce, parameters broadcast from rank 0, checksums compared on every rank.
final class CommunicatorWorld: TrainingWorld {
    let communicator: any Communicator
    private let ring: RingAllReduce

    init(communicator: any Communicator, maximumCount: Int = 0) {
        self.communicator = communicator
        ring = RingAllReduce(communicator: communicator, maximumCount: maximumCount)
    }

    var rank: Int { communicator.rank }
    var size: Int { communicator.size }

    func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try ring.allReduceAverage(buffer, count: count)
    }

    func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try communicator.broadcast(buffer, count: count, root: 0)
    }

    func checkSame(_ value: UInt64, what: String) throws {
        try communicator.checkSameValue(value, what: what)
    }
}

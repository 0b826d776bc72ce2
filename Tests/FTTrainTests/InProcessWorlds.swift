import FTDist
import FTDistTraining
import FTTrain
import Foundation

/// Multi-rank training in one process, over the code MPI runs use: each rank is a thread with a
/// `CommunicatorWorld` over FTDist's `InProcessCommunicator`, so gradients go through the real
/// ring all-reduce, parameters through the real broadcast, checksums through `checkSameValue`.
///
/// A rank that throws aborts the world: the other ranks' pending (and later) receives and
/// barriers throw `.aborted` at once instead of waiting, and `run` rethrows the first error that
/// is not such an abort. A rank that never answers ends its peers' receives after `timeout`
/// seconds. Either way a failing rank fails its test; it does not hang `swift test`.
enum InProcessWorlds {
    /// Runs `body(world)` for every rank of a new world of `size` threads and returns the results
    /// in rank order, or rethrows the first error (the cause, not the aborts it triggered).
    /// `bf16`: gradients travel as bfloat16 (`ddp_bf16_compression`).
    static func run<T: Sendable>(
        size: Int, timeout: TimeInterval = 60, bf16: Bool = false,
        _ body: @Sendable (CommunicatorWorld) throws -> T
    ) throws -> [T] {
        try InProcessCommunicator.run(size: size, receiveTimeout: timeout) { communicator in
            try body(CommunicatorWorld(communicator: communicator, bf16: bf16))
        }
    }
}

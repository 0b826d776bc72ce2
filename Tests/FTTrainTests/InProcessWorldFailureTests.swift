import FTCore
import FTDist
import FTDistTraining
import FTTrain
import Foundation
import XCTest

/// A rank that fails ends the in-process world at once: the other ranks' pending collectives throw
/// `.aborted` instead of waiting, `InProcessWorlds.run` returns the failing rank's own error
/// within seconds, and the suite goes on.
final class InProcessWorldFailureTests: XCTestCase {
    struct InjectedFailure: Error, Equatable {
        let rank: Int
        let call: Int
    }

    /// Passes every collective to `inner`, except that on `failingRank` the `failAt`-th gradient
    /// average throws `InjectedFailure` instead (its peers are then inside that all-reduce).
    final class FailingWorld: TrainingWorld {
        let inner: CommunicatorWorld
        let failingRank: Int
        let failAt: Int
        private(set) var gradientCalls = 0

        init(_ inner: CommunicatorWorld, failingRank: Int, failAt: Int) {
            self.inner = inner
            self.failingRank = failingRank
            self.failAt = failAt
        }

        var rank: Int { inner.rank }
        var size: Int { inner.size }
        func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
            try inner.averageInPlace(buffer, count: count)
        }
        func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
            gradientCalls += 1
            if rank == failingRank && gradientCalls == failAt { throw InjectedFailure(rank: rank, call: gradientCalls) }
            try inner.averageGradientsInPlace(buffer, count: count)
        }
        func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
            try inner.broadcastFromCoordinator(buffer, count: count)
        }
        func checkSame(_ value: UInt64, what: String) throws { try inner.checkSame(value, what: what) }
    }

    /// Rank 1 throws in the middle of a collective: rank 0, blocked in the same all-reduce, wakes
    /// with `.aborted`, and `run` rethrows rank 1's error, not the abort.
    func testARankThrowingMidCollectiveEndsTheWorld() throws {
        let started = Date()
        XCTAssertThrowsError(
            try InProcessWorlds.run(size: 3, timeout: 120) { world -> Int in
                var values = [Float](repeating: Float(world.rank), count: 1000)
                try values.withUnsafeMutableBufferPointer { try world.averageInPlace($0.baseAddress!, count: $0.count) }
                if world.rank == 1 { throw InjectedFailure(rank: 1, call: 1) }
                try values.withUnsafeMutableBufferPointer { try world.averageInPlace($0.baseAddress!, count: $0.count) }
                return 0
            }
        ) { error in
            XCTAssertEqual(error as? InjectedFailure, InjectedFailure(rank: 1, call: 1))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the other ranks were aborted, not timed out")
    }

    /// Two-rank training where rank 1 fails at its third gradient all-reduce, after the start-up
    /// broadcast and a step or more: the run returns that error within seconds (the receive
    /// timeout is two minutes, so this is the abort), and a fresh world afterwards trains normally.
    func testARankFailingMidTrainingReturnsItsErrorPromptly() throws {
        let fixture = try CheckpointFixture()
        defer { fixture.remove() }
        let savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = savedThreads }
        let c = try fixture.configuration("failing") {
            $0.maxSteps = 6
            $0.saveStrategy = .no
            $0.evalStrategy = .no
        }
        let started = Date()
        XCTAssertThrowsError(
            try InProcessWorlds.run(size: 2, timeout: 120) { world in
                try TrainingRun(configuration: c, world: FailingWorld(world, failingRank: 1, failAt: 3)).run()
            }
        ) { error in
            XCTAssertEqual(error as? InjectedFailure, InjectedFailure(rank: 1, call: 3))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "rank 0 was aborted, not left waiting for the timeout")

        let after = try fixture.configuration("after") {
            $0.maxSteps = 2
            $0.saveStrategy = .no
            $0.evalStrategy = .no
        }
        let metrics = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: after, world: world).run() }
        XCTAssertEqual(metrics[0]["train_steps"], 2, "rank 0 reports the run's metrics")
    }
}

import XCTest
@testable import FTDist

final class CollectivesTests: XCTestCase {
    func testBroadcastFromEveryRoot() throws {
        for size in 1...5 {
            for root in 0..<size {
                let count = 1000
                let results = try InProcessCommunicator.run(size: size, receiveTimeout: 5) { comm -> Bool in
                    var data = (0..<count).map { Float(comm.rank == root ? $0 * 3 + root : -1) }
                    try data.withUnsafeMutableBufferPointer {
                        try comm.broadcast($0.baseAddress!, count: count, root: root, segmentSize: 64)
                    }
                    return (0..<count).allSatisfy { data[$0] == Float($0 * 3 + root) }
                }
                XCTAssertEqual(results, Array(repeating: true, count: size), "size \(size), root \(root)")
            }
        }
    }

    func testBroadcastArrayAndEmpty() throws {
        let results = try InProcessCommunicator.run(size: 3, receiveTimeout: 5) { comm -> [Float] in
            var values: [Float] = comm.rank == 2 ? [4, 5] : [0, 0]
            try comm.broadcast(&values, root: 2)
            var empty: [Float] = []
            try comm.broadcast(&empty, root: 0)
            return values
        }
        XCTAssertEqual(results, [[4, 5], [4, 5], [4, 5]])
    }

    func testAllGatherCountsInRankOrder() throws {
        let results = try InProcessCommunicator.run(size: 4, receiveTimeout: 5) { comm in
            try comm.allGatherCounts(comm.rank * 10 + 1)
        }
        for gathered in results { XCTAssertEqual(gathered, [1, 11, 21, 31]) }
        // Full 64-bit values survive the float transport.
        let big = try InProcessCommunicator.run(size: 3, receiveTimeout: 5) { comm in
            try comm.allGatherValues(UInt64.max - UInt64(comm.rank))
        }
        for gathered in big { XCTAssertEqual(gathered, [UInt64.max, UInt64.max - 1, UInt64.max - 2]) }
    }

    func testCheckSameValuePassesWhenEqual() throws {
        _ = try InProcessCommunicator.run(size: 5, receiveTimeout: 5) { comm in
            try comm.checkSameValue(0xDEAD_BEEF_CAFE_F00D, what: "model checksum")
        }
    }

    func testCheckSameValueDetectsDifferingRankOnEveryRank() throws {
        let errors = try InProcessCommunicator.run(size: 5, receiveTimeout: 5) { comm -> CommunicatorError? in
            do {
                try comm.checkSameValue(comm.rank == 3 ? 42 : 7, what: "model checksum")
                return nil
            } catch let error as CommunicatorError {
                return error
            }
        }
        for (rank, error) in errors.enumerated() {
            XCTAssertEqual(error?.kind, .mismatch, "rank \(rank)")
            XCTAssertEqual(error?.peer, 3)
            XCTAssertTrue(error?.message.contains("model checksum") ?? false)
            XCTAssertTrue(error?.message.contains("rank 3: 42") ?? false)
        }
    }
}

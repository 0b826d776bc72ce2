import XCTest
import Foundation
@testable import FTDist

/// Ring all-reduce on real threads with rank-dependent integer-valued data, so every sum is exact
/// and any misplaced, dropped or doubled chunk shows as a wrong value (design §3.5).
final class RingAllReduceTests: XCTestCase {
    /// Value rank `r` contributes at element `i`; integer-valued and below 2^24 summed, hence exact.
    static func value(rank: Int, index: Int) -> Float { Float(rank * 1000 + index % 97) }

    static func expectedSum(size: Int, index: Int) -> Float {
        Float(1000 * size * (size - 1) / 2 + size * (index % 97))
    }

    /// Runs a sum (or average) on `size` ranks and returns, per rank, the first wrong index or nil.
    func runRing(
        size: Int, count: Int, segmentSize: Int, average: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let firstBad = try InProcessCommunicator.run(size: size, receiveTimeout: 10) { comm -> Int? in
            let ring = RingAllReduce(communicator: comm, maximumCount: count, segmentSize: segmentSize)
            var data = [Float](repeating: 0, count: count)
            for i in 0..<count { data[i] = Self.value(rank: comm.rank, index: i) }
            if average { try ring.allReduceAverage(&data) } else { try ring.allReduceSum(&data) }
            for i in 0..<count {
                let sum = Self.expectedSum(size: size, index: i)
                let expected = average ? sum / Float(size) : sum
                if data[i] != expected { return i }
            }
            return nil
        }
        for (rank, bad) in firstBad.enumerated() {
            XCTAssertNil(
                bad, "size \(size), count \(count), segment \(segmentSize): rank \(rank) wrong at index \(bad ?? -1)",
                file: file, line: line)
        }
    }

    func testSumsSmallLengthsAllSizes() throws {
        for size in 2...5 {
            for count in Set([0, 1, 2, size - 1, 7, 13, 1000]).sorted() {
                try runRing(size: size, count: count, segmentSize: 256 * 1024)
                try runRing(size: size, count: count, segmentSize: 3)  // pipelined: many segments per chunk
            }
        }
    }

    func testSumsLargePrimeLength() throws {
        for size in 2...5 {
            try runRing(size: size, count: 1_000_003, segmentSize: 256 * 1024)
        }
        try runRing(size: 3, count: 1_000_003, segmentSize: 10_007)  // uneven segments too
    }

    func testAverageIsSumDividedBySize() throws {
        for size in 2...5 {
            try runRing(size: size, count: 1000, segmentSize: 64, average: true)
        }
    }

    func testReuseAcrossCallsAndGrowingScratch() throws {
        // One instance, several calls of growing and shrinking length: scratch grows, tags stay in order.
        let results = try InProcessCommunicator.run(size: 3, receiveTimeout: 10) { comm -> Bool in
            let ring = RingAllReduce(communicator: comm, segmentSize: 50)
            for count in [5, 400, 0, 1, 999, 20] {
                var data = (0..<count).map { Self.value(rank: comm.rank, index: $0) }
                try ring.allReduceSum(&data)
                for i in 0..<count where data[i] != Self.expectedSum(size: 3, index: i) { return false }
            }
            return true
        }
        XCTAssertEqual(results, [true, true, true])
    }

    func testMismatchedLengthsThrowOnEveryRank() throws {
        let errors = try InProcessCommunicator.run(size: 4, receiveTimeout: 5) { comm -> CommunicatorError? in
            let ring = RingAllReduce(communicator: comm, segmentSize: 4)
            var data = [Float](repeating: 1, count: comm.rank == 2 ? 11 : 10)
            do {
                try ring.allReduceAverage(&data)
                return nil
            } catch let error as CommunicatorError {
                return error
            }
        }
        for (rank, error) in errors.enumerated() {
            XCTAssertEqual(error?.kind, .mismatch, "rank \(rank) did not detect the mismatch")
            XCTAssertEqual(error?.peer, 2)
            XCTAssertEqual(error?.operation, "allReduceAverage")
            let text = error?.description ?? ""
            XCTAssertTrue(text.contains("rank 2: 11") && text.contains("rank 0: 10"), text)
        }
    }

    func testSingleRankIsNoOp() throws {
        let comm = InProcessCommunicator.makeWorld(size: 1)[0]
        let ring = RingAllReduce(communicator: comm)
        var data: [Float] = [1.5, -2, 3]
        try ring.allReduceSum(&data)
        XCTAssertEqual(data, [1.5, -2, 3])
        try ring.allReduceAverage(&data)
        XCTAssertEqual(data, [1.5, -2, 3])
        var empty: [Float] = []
        try ring.allReduceAverage(&empty)
    }

    func testBF16CompressionExactOnSmallIntegersAndIdenticalAcrossRanks() throws {
        // Small integers are exact in bf16 (8 significant bits), so the sum stays exact.
        let count = 1001
        let exact = try InProcessCommunicator.run(size: 3, receiveTimeout: 10) { comm -> Bool in
            let ring = RingAllReduce(communicator: comm, segmentSize: 64, compression: .bf16)
            var data = (0..<count).map { Float(comm.rank + $0 % 7) }
            try ring.allReduceSum(&data)
            return (0..<count).allSatisfy { data[$0] == Float(3 + 3 * ($0 % 7)) }
        }
        XCTAssertEqual(exact, [true, true, true])

        // Inexact data: within bf16 tolerance of the fp32 sum, and bit-identical on every rank.
        let results = try InProcessCommunicator.run(size: 4, receiveTimeout: 10) { comm -> [Float] in
            let ring = RingAllReduce(communicator: comm, segmentSize: 100, compression: .bf16)
            var data = (0..<count).map { Float(sin(Double($0 * (comm.rank + 1)))) }
            try ring.allReduceSum(&data)
            return data
        }
        for rank in 1..<4 { XCTAssertEqual(results[rank], results[0], "rank \(rank) differs from rank 0") }
        for i in 0..<count {
            let reference = (0..<4).map { Float(sin(Double(i * ($0 + 1)))) }.reduce(0, +)
            // 3 roundings of partial sums of magnitude ≤ 4 at 2^-9 relative each.
            XCTAssertEqual(results[0][i], reference, accuracy: 4 * 3 * 0.002 + 1e-6, "index \(i)")
        }
    }
}

import XCTest
import Foundation
@testable import FTDist

/// Every all-reduce algorithm on real threads with rank-dependent integer-valued data (exact sums,
/// so any misplaced, dropped or doubled element shows as a wrong value): each must equal the
/// exact sum — hence every other algorithm — bit for bit, for every length (0, 1, primes, fewer
/// elements than ranks) and 1 to 9 ranks, flat and on node layouts.
final class AllReducerTests: XCTestCase {
    static func value(rank: Int, index: Int) -> Float { Float(rank * 1000 + index % 97) }
    static func expectedSum(size: Int, index: Int) -> Float {
        Float(1000 * size * (size - 1) / 2 + size * (index % 97))
    }

    /// Runs one sum per count (the same `AllReducer` for all, so scratch is reused) and fails
    /// naming the first wrong element.
    func check(
        _ algorithm: AllReduceAlgorithm, size: Int, layout: NodeLayout? = nil, counts: [Int],
        segmentSize: Int = 256 * 1024, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let problems = try InProcessCommunicator.run(size: size, receiveTimeout: 20) { comm -> String? in
            let reducer = try AllReducer(
                communicator: comm, algorithm: algorithm, layout: layout, segmentSize: segmentSize)
            for count in counts {
                var data = (0..<count).map { Self.value(rank: comm.rank, index: $0) }
                try reducer.allReduceSum(&data)
                for i in 0..<count where data[i] != Self.expectedSum(size: size, index: i) {
                    return "count \(count): element \(i) is \(data[i]), expected \(Self.expectedSum(size: size, index: i))"
                }
            }
            return nil
        }
        for (rank, problem) in problems.enumerated() where problem != nil {
            XCTFail(
                "\(algorithm.rawValue), \(size) ranks, \(layout.map { "\($0)" } ?? "one node"), segment \(segmentSize): "
                    + "rank \(rank): \(problem!)", file: file, line: line)
        }
    }

    static func counts(size: Int) -> [Int] {
        Array(Set([0, 1, 2, max(size - 1, 0), size + 1, 7, 13, 97, 1009])).sorted()
    }

    func testFlatAlgorithmsExactForEveryLengthAndRankCount() throws {
        for size in 1...9 {
            for algorithm in [AllReduceAlgorithm.ring, .halvingDoubling, .hierarchical, .auto] {
                try check(algorithm, size: size, counts: Self.counts(size: size))
            }
            // Many segments per exchange (the fold, the halves and the ring's chunks all pipelined).
            try check(.halvingDoubling, size: size, counts: [size + 1, 1009], segmentSize: 3)
        }
    }

    func testHierarchicalExactOnEveryUniformLayout() throws {
        for size in 2...9 {
            for ranksPerNode in 1...size where size % ranksPerNode == 0 {
                let layout = NodeLayout.blocks(nodes: size / ranksPerNode, ranksPerNode: ranksPerNode)
                try check(.hierarchical, size: size, layout: layout, counts: Self.counts(size: size))
                try check(.auto, size: size, layout: layout, counts: [1009], segmentSize: 5)
            }
        }
        // Nodes whose ranks are not consecutive (Open MPI's --map-by node): 0,2,4 | 1,3,5.
        try check(.hierarchical, size: 6, layout: NodeLayout(nodeLabels: [0, 1, 0, 1, 0, 1]), counts: [0, 1, 5, 7, 1009])
    }

    func testLargePrimeLengthEveryAlgorithm() throws {
        for (size, layout) in [(3, nil), (5, nil), (8, NodeLayout.blocks(nodes: 2, ranksPerNode: 4)), (6, .blocks(nodes: 3, ranksPerNode: 2))] {
            for algorithm in [AllReduceAlgorithm.ring, .halvingDoubling, .hierarchical] {
                try check(algorithm, size: size, layout: layout, counts: [100_003], segmentSize: 10_007)
            }
        }
    }

    func testAverageIsSumDividedBySize() throws {
        let results = try InProcessCommunicator.run(size: 6, receiveTimeout: 20) { comm -> Bool in
            let reducer = try AllReducer(
                communicator: comm, algorithm: .hierarchical, layout: .blocks(nodes: 3, ranksPerNode: 2))
            var data = (0..<50).map { Self.value(rank: comm.rank, index: $0) }
            try data.withUnsafeMutableBufferPointer { try reducer.allReduceAverage($0.baseAddress!, count: 50) }
            return (0..<50).allSatisfy { data[$0] == Self.expectedSum(size: 6, index: $0) / 6 }
        }
        XCTAssertEqual(results, Array(repeating: true, count: 6))
    }

    func testMismatchedLengthsThrowOnEveryRank() throws {
        for size in [2, 3, 6] {  // a power of two, and folds that involve the differing rank or not
            for algorithm in [AllReduceAlgorithm.halvingDoubling, .hierarchical, .ring] {
                let errors = try InProcessCommunicator.run(size: size, receiveTimeout: 5) { comm -> CommunicatorError? in
                    let reducer = try AllReducer(communicator: comm, algorithm: algorithm)
                    var data = [Float](repeating: 1, count: comm.rank == size - 1 ? 11 : 10)
                    do {
                        try reducer.allReduceSum(&data)
                        return nil
                    } catch let error as CommunicatorError {
                        return error
                    }
                }
                for (rank, error) in errors.enumerated() {
                    XCTAssertEqual(error?.kind, .mismatch, "\(algorithm), \(size) ranks, rank \(rank)")
                    XCTAssertTrue(error?.message.contains("from 10 to 11 floats") ?? false, "\(error?.message ?? "no error")")
                }
            }
        }
    }

    func testAlgorithmsThatCannotRunHereAreRefusedByName() throws {
        let world = InProcessCommunicator.makeWorld(size: 3)
        XCTAssertThrowsError(try AllReducer(communicator: world[0], algorithm: .mpi)) { error in
            XCTAssertTrue("\(error)".contains("ddp_allreduce_algorithm mpi"), "\(error)")
        }
        let uneven = NodeLayout(nodeLabels: [0, 0, 1])
        XCTAssertThrowsError(try AllReducer(communicator: world[0], algorithm: .hierarchical, layout: uneven)) { error in
            XCTAssertTrue("\(error)".contains("2 nodes of 2, 1 ranks"), "\(error)")
        }
        // auto on an uneven layout never picks hierarchical.
        let reducer = try AllReducer(communicator: world[0], algorithm: .auto, layout: uneven)
        for count in [1, 1000, 10_000_000] { XCTAssertNotEqual(reducer.algorithm(forCount: count), .hierarchical) }
        XCTAssertThrowsError(try AllReducer(communicator: world[0], layout: .singleNode(size: 4)))
    }

    func testAutoFollowsTheCostModelPerBucket() throws {
        let world = InProcessCommunicator.makeWorld(size: 8)
        let layout = NodeLayout.blocks(nodes: 2, ranksPerNode: 4)
        let reducer = try AllReducer(communicator: world[0], algorithm: .auto, layout: layout)
        let model = AllReduceCostModel.defaults
        for count in [1, 1000, 262_144, 6_553_600, 22_700_000] {
            XCTAssertEqual(
                reducer.algorithm(forCount: count),
                model.fastest(bytes: 4 * count, layout: .init(nodes: 2, ranksPerNode: 4)), "count \(count)")
        }
        // Across nodes with the default network, large buckets go hierarchical, tiny ones do not.
        XCTAssertEqual(reducer.algorithm(forCount: 6_553_600), .hierarchical)
        let bf16 = try AllReducer(communicator: world[0], algorithm: .halvingDoubling, layout: layout, compression: .bf16)
        XCTAssertEqual(bf16.algorithm(forCount: 1000), .ring)
    }

    func testNodeLayoutGroups() {
        let layout = NodeLayout(nodeLabels: [5, 5, 2, 2, 5, 2])
        XCTAssertEqual(layout.nodeOfRank, [0, 0, 1, 1, 0, 1])
        XCTAssertEqual(layout.nodes, [[0, 1, 4], [2, 3, 5]])
        XCTAssertTrue(layout.isUniform)
        XCTAssertEqual(layout.nodeGroup(of: 4), RankGroup(ranks: [0, 1, 4], me: 4))
        XCTAssertEqual(layout.crossGroup(of: 3).ranks, [1, 3])
        XCTAssertEqual(layout.crossGroup(of: 4).ranks, [4, 5])
        XCTAssertEqual("\(NodeLayout.blocks(nodes: 2, ranksPerNode: 3))", "2 nodes × 3 ranks")
    }
}

@testable import FTTrain
import XCTest

final class EpochOrderTests: XCTestCase {
    func testPermutationIsSeededPerEpoch() {
        let a = EpochOrder.permutation(count: 100, seed: 7, epoch: 0)
        XCTAssertEqual(a.sorted(), Array(0..<100))
        XCTAssertEqual(a, EpochOrder.permutation(count: 100, seed: 7, epoch: 0))
        XCTAssertNotEqual(a, EpochOrder.permutation(count: 100, seed: 7, epoch: 1))
        XCTAssertNotEqual(a, EpochOrder.permutation(count: 100, seed: 8, epoch: 0))
    }

    /// DistributedSampler semantics: padded by repeating the start, rank r takes every N-th from r,
    /// and batch k of all ranks together is batch k of one process with an N times larger batch.
    func testShardsCoverTheLargerBatches() {
        let order = EpochOrder.permutation(count: 23, seed: 1, epoch: 0)
        let ranks = 3, batch = 2
        let shards = (0..<ranks).map { EpochOrder.shard(order, rank: $0, ranks: ranks) }
        XCTAssertEqual(shards.map(\.count), [8, 8, 8])
        let padded = order + order.prefix(1)
        for k in 0..<4 {
            let together = shards.flatMap { Array($0[(k * batch)..<((k + 1) * batch)]) }.sorted()
            XCTAssertEqual(together, Array(padded[(k * batch * ranks)..<((k + 1) * batch * ranks)]).sorted(), "batch \(k)")
        }
        XCTAssertEqual(EpochOrder.shard(order, rank: 0, ranks: 1), order)
    }

    func testLengthGroupingSortsWithinMegabatchesAndPutsTheLongestFirst() {
        let lengths = (0..<40).map { ($0 * 37) % 23 + 1 }
        let order = EpochOrder.permutation(count: 40, seed: 3, epoch: 0)
        let grouped = EpochOrder.lengthGrouped(order, lengths: lengths, batchSize: 4, megabatchMultiplier: 5)
        XCTAssertEqual(grouped.sorted(), Array(0..<40))
        XCTAssertEqual(grouped[0..<4].map { lengths[$0] }.max(), lengths.max())
        // With this seed a longest example lies in the first mega-batch, so the swap stays inside it
        // and the second mega-batch is exactly sorted.
        for start in stride(from: 20, to: 40, by: 20) {
            let chunk = grouped[start..<(start + 20)].map { lengths[$0] }
            XCTAssertEqual(chunk, chunk.sorted(by: >))
        }
    }
}

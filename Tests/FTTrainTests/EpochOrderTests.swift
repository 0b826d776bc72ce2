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

    /// DistributedSampler(drop_last=True): the tail beyond the last multiple of the ranks sits
    /// this epoch out; nothing is repeated.
    func testDropLastShardsLeaveTheTailOut() {
        let order = EpochOrder.permutation(count: 23, seed: 1, epoch: 0)
        let shards = (0..<3).map { EpochOrder.shard(order, rank: $0, ranks: 3, dropLast: true) }
        XCTAssertEqual(shards.map(\.count), [7, 7, 7])
        XCTAssertEqual(shards.flatMap { $0 }.sorted(), order.prefix(21).sorted())
        XCTAssertEqual(shards[1], [order[1], order[4], order[7], order[10], order[13], order[16], order[19]])
        XCTAssertEqual(EpochOrder.shardSize(count: 23, ranks: 3, dropLast: true), 7)
        XCTAssertEqual(EpochOrder.shardSize(count: 23, ranks: 3), 8)
        XCTAssertEqual(EpochOrder.shard([4, 5], rank: 2, ranks: 3, dropLast: true), [], "fewer examples than ranks")
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

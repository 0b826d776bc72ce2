import FTCore
import XCTest

/// The stream numbers are part of every run's results and of resuming from a checkpoint: they
/// must never change. These are the values fttrain has always used.
final class RandomStreamsTests: XCTestCase {
    func testStreamValuesAreFixed() {
        XCTAssertEqual(RandomStreams.base, 0)
        XCTAssertEqual(RandomStreams.dropout(rank: 0), 0xD0)
        XCTAssertEqual(RandomStreams.dropout(rank: 3), 0xD3)
        XCTAssertEqual(RandomStreams.loraInitialization, 0x4C6F_5241)
        XCTAssertEqual(RandomStreams.adapterInitialization, 0xADA9_7E55)
        XCTAssertEqual(RandomStreams.epochPermutation(epoch: 2), 0x5A17_0002)
        XCTAssertEqual(RandomStreams.federatedRound(5), 0xFED0_0005)
        XCTAssertEqual(RandomStreams.sitePartition, 0x9A27)
        XCTAssertEqual(RandomStreams.siteRoundSeed(42, round: 3), 42 ^ (3 &* 0x9E37_79B9))
    }
}

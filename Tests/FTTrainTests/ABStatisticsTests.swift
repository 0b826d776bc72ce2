import XCTest
@testable import FTTrain

/// `ABStatistics` against statsmodels 0.15.0 (scripts/reference/make_ab_statistics_reference.py
/// printed these literals): the Wilson interval of each arm, the pooled two-proportion z-test and
/// Newcombe's interval of the difference, to 1e-12 relative (the formulas are the same; only the
/// order of a few roundings differs).
final class ABStatisticsTests: XCTestCase {
    private struct Case {
        var x1, n1, x2, n2: Int
        var wilson1: (Double, Double), wilson2: (Double, Double)
        var z: Double?, p: Double?
        var difference: (Double, Double)
        init(
            _ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int, _ l1: Double, _ u1: Double, _ l2: Double, _ u2: Double,
            _ z: Double?, _ p: Double?, _ low: Double, _ high: Double
        ) {
            (self.x1, self.n1, self.x2, self.n2) = (x1, n1, x2, n2)
            (wilson1, wilson2, self.z, self.p, difference) = ((l1, u1), (l2, u2), z, p, (low, high))
        }
    }

    // (x1, n1, x2, n2, wilson1 low/high, wilson2 low/high, z, p, newcombe low/high)
    private let cases: [Case] = [
        Case(
            451, 533, 440, 533, 0.8130559387760529, 0.8742978300826346, 0.7909977937955303, 0.8553755335593872, 0.9095224244428372,
            0.3630744264380166, -0.02393862377063792, 0.06517537463988773),
        Case(
            9, 10, 5, 10, 0.5958499732047614, 0.982123786904927, 0.23659309051256394, 0.7634069094874361, 1.9518001458970664, 0.050961936967763306,
            -0.0023561093922480625, 0.6759121533048666),
        Case(
            0, 20, 3, 25, 0.0, 0.1611251580528194, 0.04166817150440355, 0.2995579392092733, -1.6035674514745462, 0.10880943004054568,
            -0.2995579392092733, 0.05915689189369627),
        Case(
            20, 20, 18, 20, 0.8388748419471804, 0.9999999999999999, 0.6989663547715127, 0.9721335187862318, 1.4509525002200223, 0.1467930873085712,
            -0.07653487216419805, 0.3010336452284873),
        Case(1, 1, 0, 1, 0.2065493143772374, 1.0, 0.0, 0.7934506856227627, 1.414213562373095, 0.15729920705028516, -0.12210872068194178, 1.0),
        Case(
            30, 40, 30, 40, 0.5980603857923197, 0.858128813609037, 0.5980603857923197, 0.858128813609037, 0.0, 1.0, -0.186487229316317,
            0.186487229316317),
        Case(
            9500, 10000, 9300, 10000, 0.9455528841569758, 0.9541015173094152, 0.924832325522095, 0.934837435879123, 5.954913341754106,
            2.6020967243944282e-09, 0.013429031638646848, 0.026597522546306464),
        Case(
            5000, 10000, 4000, 9000, 0.49020206181540477, 0.5097979381845952, 0.4342043556142528, 0.4547319384582799, 7.657804862272348,
            1.891379743044396e-14, 0.04134879217490302, 0.06972802929585101),
        Case(
            7, 7, 12, 12, 0.6456695649333125, 0.9999999999999999, 0.7575059933447589, 0.9999999999999999, nil, nil, -0.3543304350666875,
            0.24249400665524112),
    ]

    private func assertClose(_ actual: Double?, _ expected: Double, _ what: String, line: UInt = #line) {
        guard let actual else { return XCTFail("\(what): nil, expected \(expected)", line: line) }
        XCTAssertLessThanOrEqual(abs(actual - expected), 1e-15 + 1e-12 * abs(expected), "\(what): \(actual) vs \(expected)", line: line)
    }

    func testAgainstStatsmodels() throws {
        for c in cases {
            let name = "(\(c.x1)/\(c.n1), \(c.x2)/\(c.n2))"
            let w1 = ABStatistics.wilsonInterval(successes: c.x1, trials: c.n1)
            let w2 = ABStatistics.wilsonInterval(successes: c.x2, trials: c.n2)
            assertClose(w1?.low, c.wilson1.0, "\(name) wilson 1 low")
            assertClose(w1?.high, c.wilson1.1, "\(name) wilson 1 high")
            assertClose(w2?.low, c.wilson2.0, "\(name) wilson 2 low")
            assertClose(w2?.high, c.wilson2.1, "\(name) wilson 2 high")
            let test = ABStatistics.twoProportionZTest(successes1: c.x1, trials1: c.n1, successes2: c.x2, trials2: c.n2)
            if let z = c.z, let p = c.p {
                assertClose(test?.z, z, "\(name) z")
                assertClose(test?.pValue, p, "\(name) p")
            } else {
                XCTAssertNil(test, "\(name): the pooled proportion is 0 or 1, z is 0/0")
            }
            let d = ABStatistics.differenceInterval(successes1: c.x1, trials1: c.n1, successes2: c.x2, trials2: c.n2)
            assertClose(d?.low, c.difference.0, "\(name) newcombe low")
            assertClose(d?.high, c.difference.1, "\(name) newcombe high")
        }
    }

    func testUndefinedWithoutTrials() {
        XCTAssertNil(ABStatistics.wilsonInterval(successes: 0, trials: 0))
        XCTAssertNil(ABStatistics.twoProportionZTest(successes1: 0, trials1: 0, successes2: 3, trials2: 5))
        XCTAssertNil(ABStatistics.differenceInterval(successes1: 3, trials1: 5, successes2: 0, trials2: 0))
        XCTAssertNil(ABStatistics.twoProportionZTest(successes1: 0, trials1: 4, successes2: 0, trials2: 9))
    }

    func testSymmetry() throws {
        // Swapping the arms negates z and the difference interval and keeps p.
        let ab = try XCTUnwrap(ABStatistics.twoProportionZTest(successes1: 40, trials1: 60, successes2: 30, trials2: 55))
        let ba = try XCTUnwrap(ABStatistics.twoProportionZTest(successes1: 30, trials1: 55, successes2: 40, trials2: 60))
        XCTAssertEqual(ab.z, -ba.z, accuracy: 1e-14)
        XCTAssertEqual(ab.pValue, ba.pValue, accuracy: 1e-15)
        let dab = try XCTUnwrap(ABStatistics.differenceInterval(successes1: 40, trials1: 60, successes2: 30, trials2: 55))
        let dba = try XCTUnwrap(ABStatistics.differenceInterval(successes1: 30, trials1: 55, successes2: 40, trials2: 60))
        XCTAssertEqual(dab.low, -dba.high, accuracy: 1e-14)
        XCTAssertEqual(dab.high, -dba.low, accuracy: 1e-14)
    }
}

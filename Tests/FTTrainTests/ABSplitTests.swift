import XCTest
@testable import FTTrain

/// `ABSplit`: the SHA-256 position definition (literal values from
/// scripts/reference/make_ab_statistics_reference.py, so any process anywhere agrees), stickiness,
/// the share of 100k keys per arm against the weights, uniform draws and the refusals.
final class ABSplitTests: XCTestCase {
    private func split(_ weights: [(String, Double)], salt: String = "") throws -> ABSplit {
        try ABSplit(weights: weights.map { (name: $0.0, weight: $0.1) }, salt: salt)
    }

    func testPositionsAreTheTopBitsOfSHA256() throws {
        // (key, top 53 bits of SHA-256(UTF-8 key) / 2^53, arm of a 0.9/0.1 split), from Python's
        // hashlib: exact, since the position is a 53-bit integer over a power of two.
        let expected: [(String, Double, String)] = [
            ("client-42", 0.21222354457879122, "a"),
            ("user-1", 0.7764059241441004, "a"),
            ("user-2", 0.8483186847808387, "a"),
            ("", 0.8894159948913373, "a"),
            ("ü-Ärger", 0.9549066449417557, "b"),
            ("x-client-id:7f3a", 0.6382032609149971, "a"),
        ]
        let ab = try split([("a", 0.9), ("b", 0.1)])
        for (key, position, arm) in expected {
            XCTAssertEqual(ABSplit.position(of: key), position, key)
            XCTAssertEqual(ab.arm(forKey: key), arm, key)
        }
    }

    func testStickyAndIndependentOfArmOrderAndWeightScale() throws {
        let first = try split([("full", 0.5), ("lora", 0.3), ("base", 0.2)])
        let reordered = try split([("lora", 3), ("base", 2), ("full", 5)])
        let fromDictionary = try ABSplit(weights: ["base": 0.2, "full": 0.5, "lora": 0.3])
        XCTAssertEqual(first.arms.map(\.name), ["base", "full", "lora"])
        XCTAssertEqual(first.arms.map(\.share), [0.2, 0.5, 0.3])
        for i in 0..<2000 {
            let key = "client-\(i)"
            let arm = first.arm(forKey: key)
            XCTAssertEqual(first.arm(forKey: key), arm)
            XCTAssertEqual(reordered.arm(forKey: key), arm, key)
            XCTAssertEqual(fromDictionary.arm(forKey: key), arm, key)
        }
    }

    func testSplitOf100kKeysMatchesTheWeights() throws {
        // Sequential ids, the hardest case for a weak hash. Each arm's count is Binomial(N, share):
        // within 4.5 standard deviations (a false alarm about once in 150k runs for an unbiased hash;
        // the keys are fixed, so this is deterministic anyway).
        let n = 100_000
        for weights in [[("a", 0.9), ("b", 0.1)], [("x", 0.5), ("y", 0.3), ("z", 0.2)], [("p", 0.5), ("q", 0.5)]] {
            let ab = try split(weights, salt: "sentiment/")
            var counts: [String: Int] = [:]
            for i in 0..<n { counts[ab.arm(forKey: "user-\(i)"), default: 0] += 1 }
            for arm in ab.arms {
                let expected = Double(n) * arm.share
                let sd = (Double(n) * arm.share * (1 - arm.share)).squareRoot()
                let count = Double(counts[arm.name] ?? 0)
                XCTAssertLessThan(abs(count - expected), 4.5 * sd, "arm \(arm.name): \(count) of \(n), expected \(expected)")
            }
        }
    }

    func testSaltSplitsRoutesIndependently() throws {
        let one = try split([("a", 0.5), ("b", 0.5)], salt: "route-1/")
        let two = try split([("a", 0.5), ("b", 0.5)], salt: "route-2/")
        XCTAssertEqual(one.arm(forKey: "k"), ABSplit.position(of: "route-1/k") < 0.5 ? "a" : "b")
        // Independent 50/50 splits agree on about half of the keys (sd 0.5·√(1/4000) ≈ 0.008).
        let keys = (0..<4000).map { "client-\($0)" }
        let agreement = Double(keys.filter { one.arm(forKey: $0) == two.arm(forKey: $0) }.count) / Double(keys.count)
        XCTAssertEqual(agreement, 0.5, accuracy: 0.04)
    }

    func testUniformDraws() throws {
        let ab = try split([("b", 0.1), ("a", 0.9)])
        XCTAssertEqual(try ab.arm(uniform: 0), "a")
        XCTAssertEqual(try ab.arm(uniform: 0.8999), "a")
        XCTAssertEqual(try ab.arm(uniform: 0.9), "b")
        XCTAssertEqual(try ab.arm(uniform: 1.0.nextDown), "b")
        for bad in [1.0, -0.001, .nan, .infinity] {
            XCTAssertThrowsError(try ab.arm(uniform: bad)) { error in
                guard case .uniformOutOfRange = error as? ABTestingError else { return XCTFail("\(bad): \(error)") }
            }
        }
        var generator = SystemRandomNumberGenerator()
        var drawnB = 0
        for _ in 0..<20_000 where ab.arm(using: &generator) == "b" { drawnB += 1 }
        XCTAssertEqual(Double(drawnB), 2000, accuracy: 4.5 * (20_000 * 0.09).squareRoot())
    }

    func testRefusals() {
        func message(_ weights: [(String, Double)]) -> String {
            do {
                _ = try split(weights)
                return "accepted"
            } catch {
                return (error as? ABTestingError)?.description ?? "\(error)"
            }
        }
        XCTAssertEqual(message([("a", 1)]), "A/B split: 1 arm; at least 2 are needed")
        XCTAssertEqual(message([]), "A/B split: 0 arms; at least 2 are needed")
        XCTAssertEqual(message([("a", 1), ("a", 2)]), "A/B split: arm \"a\" appears more than once")
        XCTAssertEqual(message([("a", 1), ("", 2)]), "A/B split: an arm has an empty name")
        XCTAssertEqual(message([("a", 1), ("b", 0)]), "A/B split: arm \"b\" has weight 0.0; weights must be positive and finite")
        XCTAssertEqual(message([("a", -1), ("b", 1)]), "A/B split: arm \"a\" has weight -1.0; weights must be positive and finite")
        XCTAssertTrue(message([("a", .nan), ("b", 1)]).contains("arm \"a\" has weight nan"))
        XCTAssertTrue(message([("a", .infinity), ("b", 1)]).contains("arm \"a\" has weight inf"))
        XCTAssertTrue(message([("a", .greatestFiniteMagnitude), ("b", .greatestFiniteMagnitude)]).contains("must be positive and finite"))
    }
}

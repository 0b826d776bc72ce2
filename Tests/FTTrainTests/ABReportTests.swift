import Foundation
import XCTest
@testable import FTTrain

/// `ABReport`: counting per arm (inputs of requests with feedback, the latest feedback, requests
/// without feedback served but not counted), the statistics it attaches, the route filter, the
/// configured arms that have not served yet, and the JSON and text renderings.
final class ABReportTests: XCTestCase {
    /// Arm "full": 12 single-text requests, 10 with feedback, 9 right. Arm "lora": 6 two-text
    /// requests, 5 with feedback (10 inputs), 6 inputs right; one request corrected from wrong to
    /// right. Another route "other" with one request.
    private func ledger() throws -> ABLedger {
        var ledger = ABLedger()
        for i in 0..<12 {
            try ledger.apply(.prediction(ABPrediction(id: "f\(i)", route: "sentiment", arm: "full", model: "full", labels: ["pos"], time: "t")))
            if i < 10 { try ledger.apply(.feedback(ABFeedback(id: "f\(i)", labels: [i < 9 ? "pos" : "neg"], time: "t"))) }
        }
        for i in 0..<6 {
            try ledger.apply(
                .prediction(
                    ABPrediction(id: "l\(i)", route: "sentiment", arm: "lora", model: i == 0 ? "lora-v1" : "lora", labels: ["pos", "neg"], time: "t"))
            )
        }
        // l0: wrong then corrected to both right; l1, l2: both right; l3: one right; l4: none right.
        try ledger.apply(.feedback(ABFeedback(id: "l0", labels: ["neg", "pos"], time: "t")))
        try ledger.apply(.feedback(ABFeedback(id: "l0", labels: ["pos", "neg"], time: "t")))
        try ledger.apply(.feedback(ABFeedback(id: "l1", labels: ["pos", "neg"], time: "t")))
        try ledger.apply(.feedback(ABFeedback(id: "l2", labels: ["pos", "neg"], time: "t")))
        try ledger.apply(.feedback(ABFeedback(id: "l3", labels: ["pos", "pos"], time: "t")))
        try ledger.apply(.feedback(ABFeedback(id: "l4", labels: ["neg", "pos"], time: "t")))
        try ledger.apply(.prediction(ABPrediction(id: "o1", route: "other", arm: "x", model: "x", labels: ["a"], time: "t")))
        return ledger
    }

    func testCountsAndStatistics() throws {
        let report = ABReport(ledger: try ledger())
        XCTAssertEqual(report.routes.map(\.route), ["other", "sentiment"])
        let sentiment = report.routes[1]
        XCTAssertEqual(sentiment.arms.map(\.arm), ["full", "lora"])
        let full = sentiment.arms[0], lora = sentiment.arms[1]
        XCTAssertEqual([full.requests, full.n, full.correct], [12, 10, 9])
        XCTAssertEqual([lora.requests, lora.n, lora.correct], [6, 10, 7])
        XCTAssertEqual(full.models, ["full"])
        XCTAssertEqual(lora.models, ["lora-v1", "lora"])
        XCTAssertEqual(full.accuracy, 0.9)
        XCTAssertEqual(lora.accuracy, 0.7)
        XCTAssertEqual(full.interval, ABStatistics.wilsonInterval(successes: 9, trials: 10))
        XCTAssertEqual(sentiment.comparisons.count, 1)
        let comparison = sentiment.comparisons[0]
        XCTAssertEqual(comparison.a, "full")
        XCTAssertEqual(comparison.b, "lora")
        XCTAssertEqual(try XCTUnwrap(comparison.difference), 0.2, accuracy: 1e-15)
        XCTAssertEqual(comparison.test, ABStatistics.twoProportionZTest(successes1: 9, trials1: 10, successes2: 7, trials2: 10))
        XCTAssertEqual(comparison.differenceInterval, ABStatistics.differenceInterval(successes1: 9, trials1: 10, successes2: 7, trials2: 10))
        // The other route: one arm, no feedback, no comparison.
        XCTAssertEqual(report.routes[0].arms.map(\.n), [0])
        XCTAssertNil(report.routes[0].arms[0].accuracy)
        XCTAssertTrue(report.routes[0].comparisons.isEmpty)
    }

    func testRouteFilterAndConfiguredArms() throws {
        let report = ABReport(ledger: try ledger(), route: "other", configuredArms: ["other": ["x", "y"], "sentiment": ["full", "lora"]])
        XCTAssertEqual(report.routes.map(\.route), ["other"])
        let arms = report.routes[0].arms
        XCTAssertEqual(arms.map(\.arm), ["x", "y"])
        XCTAssertEqual(arms.map(\.requests), [1, 0])
        let comparison = report.routes[0].comparisons[0]
        XCTAssertNil(comparison.difference)
        XCTAssertNil(comparison.test)
        XCTAssertNil(comparison.differenceInterval)
        XCTAssertTrue(ABReport(ledger: try ledger(), route: "missing").routes.isEmpty)
        // An idle configured route still has its rows.
        let idle = ABReport(ledger: ABLedger(), configuredArms: ["new": ["b", "a"]])
        XCTAssertEqual(idle.routes.map(\.route), ["new"])
        XCTAssertEqual(idle.routes[0].arms.map(\.arm), ["a", "b"])
    }

    func testJSON() throws {
        let report = ABReport(ledger: try ledger(), route: "sentiment")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        XCTAssertEqual(object["confidence"] as? Double, 0.95)
        let routes = try XCTUnwrap(object["routes"] as? [[String: Any]])
        XCTAssertEqual(routes.count, 1)
        XCTAssertEqual(routes[0]["route"] as? String, "sentiment")
        let arms = try XCTUnwrap(routes[0]["arms"] as? [[String: Any]])
        XCTAssertEqual(arms.map { $0["arm"] as? String }, ["full", "lora"])
        XCTAssertEqual(arms.map { $0["n"] as? Int }, [10, 10])
        XCTAssertEqual(arms.map { $0["correct"] as? Int }, [9, 7])
        XCTAssertEqual(arms[1]["models"] as? [String], ["lora-v1", "lora"])
        let wilson = try XCTUnwrap(ABStatistics.wilsonInterval(successes: 9, trials: 10))
        // (Foundation's JSON parser on Linux may land 1 ulp off the shortest representation.)
        XCTAssertEqual(try XCTUnwrap(arms[0]["ci_low"] as? Double), wilson.low, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(arms[0]["ci_high"] as? Double), wilson.high, accuracy: 1e-15)
        let comparison = try XCTUnwrap((routes[0]["comparisons"] as? [[String: Any]])?.first)
        let test = try XCTUnwrap(ABStatistics.twoProportionZTest(successes1: 9, trials1: 10, successes2: 7, trials2: 10))
        XCTAssertEqual(try XCTUnwrap(comparison["z"] as? Double), test.z, accuracy: 1e-14)
        XCTAssertEqual(try XCTUnwrap(comparison["p_value"] as? Double), test.pValue, accuracy: 1e-15)
        // Undefined statistics are null, not NaN (which JSON cannot hold).
        let idle = ABReport(ledger: ABLedger(), configuredArms: ["new": ["a", "b"]]).json
        XCTAssertTrue(idle.contains("\"accuracy\":null,\"ci_low\":null,\"ci_high\":null"), idle)
        XCTAssertTrue(idle.contains("\"z\":null,\"p_value\":null"), idle)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(idle.utf8)))
    }

    func testText() throws {
        // The figures are statsmodels' for 9/10 against 7/10: Wilson [0.5958, 0.9821] and
        // [0.3968, 0.8922], Newcombe [-0.1598, 0.5141], z = 1.1180, p = 0.26355.
        XCTAssertEqual(
            ABReport(ledger: try ledger(), route: "sentiment").text,
            """
            route sentiment
              arm   requests       n  correct  accuracy  95% CI (Wilson)
              full        12      10        9    0.9000  [0.5958, 0.9821]
              lora         6      10        7    0.7000  [0.3968, 0.8922]
              full - lora: difference +0.2000, 95% CI [-0.1598, +0.5141] (Newcombe); z = 1.12, p = 0.2636 (pooled two-proportion z-test)

            """)
        XCTAssertEqual(ABReport(ledger: ABLedger()).text, "no A/B predictions\n")
    }
}

import Foundation
import XCTest
@testable import FTTrain

/// `ABRoute` (serve.yaml's `routes:` entries, as YAML values and as the JSON text the server keeps)
/// and `ABRouter` (arms must be served models, sticky assignment, the in-memory log, the report).
final class ABRoutingTests: XCTestCase {
    private func message(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testParsesYAMLValuesAndJSONText() throws {
        let yaml: [String: Any] = ["ab": ["full": 0.9, "lora": 1 as Int], "sticky_header": "X-Client-Id"]
        let fromYAML = try ABRoute.parse(name: "sentiment", definition: yaml, source: "serve.yaml")
        XCTAssertEqual(fromYAML.split.arms.map(\.name), ["full", "lora"])
        XCTAssertEqual(fromYAML.split.arms[0].share, 0.9 / 1.9, accuracy: 1e-15)
        XCTAssertEqual(fromYAML.stickyHeader, "x-client-id")
        XCTAssertEqual(fromYAML.split.salt, "sentiment/")
        let fromJSON = try ABRoute.parse(
            name: "sentiment", json: #"{"ab":{"full":0.9,"lora":1},"sticky_header":"X-Client-Id"}"#, source: "serve.yaml")
        XCTAssertEqual(fromJSON, fromYAML)
        let noHeader = try ABRoute.parse(name: "r", json: #"{"ab":{"a":1,"b":1}}"#, source: "s.yaml")
        XCTAssertNil(noHeader.stickyHeader)
        // The salted position decides: the arm is the literal definition's.
        XCTAssertEqual(fromYAML.split.arm(forKey: "client-7"), ABSplit.position(of: "sentiment/client-7") < 0.9 / 1.9 ? "full" : "lora")
    }

    func testRefusesBadDefinitions() {
        func parse(_ json: String) -> String { message { try ABRoute.parse(name: "r", json: json, source: "serve.yaml") } }
        XCTAssertEqual(parse(#"{"ab":{"a":1}}"#), "serve.yaml: A/B route r: 1 arm; at least 2 are needed")
        XCTAssertEqual(parse(#"{"ab":{"a":1,"b":-1}}"#), "serve.yaml: A/B route r: arm \"b\" has weight -1.0; weights must be positive and finite")
        XCTAssertEqual(parse(#"{"ab":{"a":1,"b":true}}"#), "serve.yaml: routes.r.ab.b must be a number, found true")
        XCTAssertEqual(parse(#"{"ab":{"a":1,"b":"x"}}"#), "serve.yaml: routes.r.ab.b must be a number, found x")
        XCTAssertEqual(parse(#"{"split":{"a":1,"b":1}}"#), "serve.yaml: routes.r: unknown key split (expected ab, sticky_header)")
        XCTAssertTrue(parse(#"{"sticky_header":"x"}"#).hasPrefix("serve.yaml: routes.r.ab must map arm names"))
        XCTAssertTrue(
            parse(#"{"ab":{"a":1,"b":1},"sticky_header":"bad header"}"#).hasPrefix("serve.yaml: routes.r.sticky_header must be a header name"))
        XCTAssertTrue(parse(#"["a"]"#).hasPrefix("serve.yaml: routes.r must be a mapping"))
        XCTAssertTrue(parse(#"{"ab":"#).hasPrefix("serve.yaml: routes.r is not valid JSON"))
    }

    func testRouterChecksArmsAndNames() throws {
        let route = try ABRoute(name: "sentiment", weights: ["full": 1, "lora": 1], stickyHeader: "x-client-id")
        XCTAssertEqual(
            message { try ABRouter(routes: [route], servedModels: ["full", "base"], log: ABLog()) },
            "A/B route sentiment: arm lora is not a served model (served: full, base)")
        XCTAssertEqual(
            message { try ABRouter(routes: [route], servedModels: ["full", "lora", "sentiment"], log: ABLog()) },
            "A/B route sentiment: a served model has the same name; requests could not tell them apart")
        XCTAssertEqual(
            message { try ABRouter(routes: [route, route], servedModels: ["full", "lora"], log: ABLog()) },
            "A/B route sentiment is defined twice")
    }

    func testStickyArmsLogAndReport() throws {
        let route = try ABRoute(name: "sentiment", weights: ["full": 1, "lora": 1], stickyHeader: "x-client-id")
        let router = try ABRouter(routes: [route], servedModels: ["full", "lora"], log: ABLog())
        XCTAssertNil(router.log.path)
        var arms: [String: Int] = [:]
        for client in 0..<200 {
            let arm = router.arm(route: route, key: "client-\(client)")
            XCTAssertEqual(router.arm(route: route, key: "client-\(client)"), arm)
            XCTAssertEqual(arm, route.split.arm(forKey: "client-\(client)"))
            arms[arm, default: 0] += 1
            try router.log.logPrediction(id: "r\(client)", route: "sentiment", arm: arm, model: arm, labels: ["pos"])
            try router.log.logFeedback(id: "r\(client)", labels: [arm == "full" ? "pos" : "neg"])
        }
        XCTAssertEqual(arms.count, 2)
        // Without a key the draw follows the weights.
        let drawn = (0..<2000).filter { _ in router.arm(route: route, key: nil) == "full" }.count
        XCTAssertEqual(Double(drawn), 1000, accuracy: 4.5 * (2000 * 0.25).squareRoot())

        let report = try router.report(route: "sentiment")
        let rows = try XCTUnwrap(report.routes.first?.arms)
        XCTAssertEqual(rows.map(\.arm), ["full", "lora"])
        XCTAssertEqual(rows.map(\.requests), [arms["full"]!, arms["lora"]!])
        XCTAssertEqual(rows.map(\.correct), [arms["full"]!, 0])
        XCTAssertEqual(message { try router.report(route: "nope") }, "no A/B route nope (routes: sentiment)")
        // A configured route with no traffic still lists its arms.
        let idle = try ABRouter(routes: [route], servedModels: ["full", "lora"], log: ABLog()).report()
        XCTAssertEqual(idle.routes.first?.arms.map(\.requests), [0, 0])
    }
}

import FTTrain
import Foundation
import XCTest

/// The timeline's recorder: spans gathered bit-exactly from every rank of an in-process world
/// (the collective MPI runs use), and the cost of recording one span.
final class TracerTests: XCTestCase {
    func testEveryRanksSpansReachEveryRank() throws {
        let ranks = 3
        let gathered = try InProcessWorlds.run(size: ranks) { world -> [String] in
            let tracer = Tracer(rank: world.rank)
            // Different counts per rank, and names with multi-byte characters (bytes travel four to a float).
            for i in 0...(world.rank * 2) {
                tracer.span("span ✓ \(world.rank).\(i)", category: "test", arguments: ["i": Double(i)]) {}
            }
            return try tracer.gatherEvents(world: world).compactMap { $0["ph"] as? String == "X" ? $0["name"] as? String : nil }
        }
        let expected = (0..<ranks).flatMap { rank in (0...(rank * 2)).map { "span ✓ \(rank).\($0)" } }
        for names in gathered { XCTAssertEqual(names, expected) }
    }

    func testEventsAreChromeTraceEvents() throws {
        let tracer = Tracer(rank: 2)
        tracer.span("outer", category: "step") {
            let start = Tracer.now()
            tracer.complete("inner", category: "compute", track: .communication, since: start)
        }
        let events = tracer.events()
        let spans = events.filter { $0["ph"] as? String == "X" }
        XCTAssertEqual(spans.map { $0["name"] as? String }, ["inner", "outer"])
        XCTAssertEqual(spans.map { $0["pid"] as? Int }, [2, 2])
        XCTAssertEqual(spans.map { $0["tid"] as? Int }, [1, 0])
        XCTAssertTrue(events.contains { $0["name"] as? String == "process_name" && ($0["args"] as? [String: String])?["name"] == "rank 2" })
        let outer = spans[1], inner = spans[0]
        XCTAssertLessThanOrEqual(outer["ts"] as! Double, inner["ts"] as! Double + 1)
        XCTAssertGreaterThanOrEqual(outer["dur"] as! Double, 0)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Tracer.write(events, to: url)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        XCTAssertEqual((object["traceEvents"] as! [Any]).count, events.count)
    }

    /// Recording must be cheap next to a step (milliseconds to seconds, ~10 spans a step).
    func testRecordingCost() {
        let tracer = Tracer(rank: 0)
        let count = 100_000
        let started = Date()
        for _ in 0..<count { tracer.complete("forward", category: "compute", since: Tracer.now(), arguments: ["micro_batch": 0]) }
        let perSpan = Date().timeIntervalSince(started) / Double(count)
        print(String(format: "Tracer: %.2f µs per recorded span", perSpan * 1e6))
        XCTAssertEqual(tracer.spans.count, count)
        XCTAssertLessThan(perSpan, 20e-6, "a span must cost microseconds")
    }
}

import Foundation
import XCTest
@testable import FTTrain

/// `EntityMetrics` against seqeval 1.2 (default mode) on the cases of
/// `Fixtures/metrics/seqeval_cases.json` (scripts/reference/make_seqeval_fixture.py): hand-made
/// BIO/BIOES edge cases and seeded random ones; entities exactly, every number within 1e-12.
final class EntityMetricsFixtureTests: XCTestCase {
    struct Fixture: Decodable { let cases: [Case] }

    struct Case: Decodable {
        let name: String
        let truth: [[String]]
        let predicted: [[String]]
        let entitiesTrue: [[Entry]]
        let entitiesPredicted: [[Entry]]
        let types: [String]
        let precision: [Double]
        let recall: [Double]
        let f1: [Double]
        let support: [Int]
        let micro: [Double]
        let macro: [Double]
        let weighted: [Double]
        let accuracy: Double

        enum CodingKeys: String, CodingKey {
            case name, truth, predicted, types, precision, recall, f1, support, micro, macro, weighted, accuracy
            case entitiesTrue = "entities_true"
            case entitiesPredicted = "entities_predicted"
        }
    }

    enum Entry: Decodable {
        case text(String), number(Int)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .text(try c.decode(String.self)) }
        }
    }

    static func entity(_ entry: [Entry]) -> TaggedEntity? {
        guard entry.count == 3, case .text(let type) = entry[0], case .number(let start) = entry[1], case .number(let end) = entry[2] else {
            return nil
        }
        return TaggedEntity(type: type, start: start, end: end)
    }

    func testMatchesSeqeval() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "seqeval_cases", withExtension: "json", subdirectory: "Fixtures/metrics"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 15)
        func close(_ a: Double, _ b: Double, _ what: String, _ name: String) {
            XCTAssertEqual(a, b, accuracy: 1e-12, "\(name): \(what)")
        }
        for c in fixture.cases {
            XCTAssertEqual(EntityMetrics.entities(inSentences: c.truth), c.entitiesTrue.compactMap(Self.entity), c.name)
            XCTAssertEqual(EntityMetrics.entities(inSentences: c.predicted), c.entitiesPredicted.compactMap(Self.entity), c.name)
            let m = EntityMetrics(truth: c.truth, predicted: c.predicted)
            XCTAssertEqual(m.types, c.types, c.name)
            guard m.types == c.types else { continue }
            for (k, s) in m.perType.enumerated() {
                close(s.precision, c.precision[k], "precision \(c.types[k])", c.name)
                close(s.recall, c.recall[k], "recall \(c.types[k])", c.name)
                close(s.f1, c.f1[k], "f1 \(c.types[k])", c.name)
                XCTAssertEqual(s.support, c.support[k], c.name)
            }
            for (mine, theirs, what) in [(m.micro, c.micro, "micro"), (m.macro, c.macro, "macro"), (m.weighted, c.weighted, "weighted")] {
                close(mine.precision, theirs[0], what + " precision", c.name)
                close(mine.recall, theirs[1], what + " recall", c.name)
                close(mine.f1, theirs[2], what + " f1", c.name)
            }
            close(m.accuracy, c.accuracy, "accuracy", c.name)
        }
    }

    func testDictionaryAndReport() {
        let m = EntityMetrics(truth: [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]], predicted: [["B-PER", "I-PER", "O", "B-LOC", "O", "O"]])
        let d = m.dictionary(prefix: "eval_")
        XCTAssertEqual(d["eval_f1"], 0.5)
        XCTAssertEqual(d["eval_f1_PER"], 1)
        XCTAssertEqual(d["eval_f1_LOC"], 0)
        XCTAssertEqual(d["eval_accuracy"]!, 5.0 / 6, accuracy: 1e-12)
        XCTAssertTrue(m.report().contains("micro avg"))
    }
}

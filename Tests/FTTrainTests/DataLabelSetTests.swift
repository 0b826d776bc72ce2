import Foundation
import FTTrain
import XCTest

final class DataLabelSetTests: XCTestCase {
    func testIntegerLabelsOrderNumerically() {
        let set = LabelSet(labels: ["10", "2", "0", "1", "2", "-1"])
        XCTAssertTrue(set.isNumeric)
        XCTAssertEqual(set.labels, ["-1", "0", "1", "2", "10"])
        XCTAssertEqual(set.id(for: "10"), 4)
        XCTAssertEqual(set.id2label[1], "0")
        XCTAssertEqual(set.label2id["2"], 3)
    }

    func testOtherLabelsOrderByCodePoint() {
        // One non-integer label makes the whole set lexicographic: "10" < "2" < "x".
        XCTAssertEqual(LabelSet(labels: ["2", "10", "x"]).labels, ["10", "2", "x"])
        // Code point order, as Python's sorted(): upper case before lower, ASCII before CJK,
        // and U+4E2D 中 before U+6B63 正.
        XCTAssertEqual(LabelSet(labels: ["正面", "neg", "Pos", "中性", "pos"]).labels, ["Pos", "neg", "pos", "中性", "正面"])
        // Precomposed é (U+00E9) sorts after z; Swift's `<` would also say so, but e + U+0301 would not.
        XCTAssertEqual(LabelSet(labels: ["z", "é", "a"]).labels, ["a", "z", "é"])
        XCTAssertFalse(LabelSet(labels: ["007", "1"]).isNumeric)
    }

    func testIsIntegerLabel() {
        for yes in ["0", "7", "-3", "10", "9223372036854775807"] { XCTAssertTrue(LabelSet.isIntegerLabel(yes), yes) }
        for no in ["", "-", "-0", "007", "+1", "1.0", " 1", "1e3", "٣", "99999999999999999999"] {
            XCTAssertFalse(LabelSet.isIntegerLabel(no), no)
        }
    }

    func testEncodeRejectsLabelsTheTrainingSplitNeverSaw() throws {
        let set = LabelSet(training: [example("a", "neg"), example("b", "pos")])
        let validation = [example("c", "pos", line: 2, file: "val.csv"), example("d", "neutral", line: 3, file: "val.csv")]
        let error = dataError { _ = try set.encode(validation) }
        XCTAssertEqual(
            error?.description,
            """
            val.csv: 1 bad row (fix them, or set skip_bad_rows: true / --skip-bad-rows to drop and report them):
              val.csv:3: label "neutral" does not occur in the training split (its labels: "neg", "pos")
            """)
        let (encoded, skipped) = try set.encode(validation, skipBadRows: true)
        XCTAssertEqual(encoded, [EncodedExample(text: "c", labelId: 1, location: SourceLocation(file: "val.csv", line: 2))])
        XCTAssertEqual(skipped.map(\.location.line), [3])
    }

    func testCodableKeepsStoredOrder() throws {
        let set = LabelSet(labels: ["b", "a"])
        let data = try JSONEncoder().encode(set)
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "{\"labels\":[\"a\",\"b\"]}")
        let stored = try JSONDecoder().decode(LabelSet.self, from: Data("{\"labels\":[\"b\",\"a\"]}".utf8))
        XCTAssertEqual(stored.labels, ["b", "a"])
        XCTAssertEqual(stored.id(for: "a"), 1)
    }

    func testCounts() {
        let set = LabelSet(labels: ["a", "b", "c"])
        let examples = [0, 2, 2, 0, 2].map { EncodedExample(text: "t", labelId: $0, location: SourceLocation(file: "f", line: 1)) }
        XCTAssertEqual(set.counts(examples), [2, 0, 3])
    }
}

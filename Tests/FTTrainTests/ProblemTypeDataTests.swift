import FTModel
import Foundation
import XCTest

@testable import FTTrain

/// Reading multi-label and regression data: JSONL arrays and CSV cells split at `label_separator`,
/// float labels, the problem type inferred from the labels, and every bad input refused with its
/// file and line.
final class ProblemTypeDataTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-pt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func write(_ name: String, _ lines: [String]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func prepare(
        _ train: String, validation: String? = nil, _ type: ProblemType, separator: String? = nil, skip: Bool = false
    ) throws -> ProblemTypeData {
        var options = DataPreparationOptions(trainPath: train, validationPath: validation, testPath: nil)
        options.read.skipBadRows = skip
        return try ProblemTypeData.prepare(options, problemType: type, labelSeparator: separator)
    }

    func assertBadRow(_ expression: @autoclosure () throws -> Any, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let text = "\(error)"
            for fragment in fragments { XCTAssertTrue(text.contains(fragment), "\"\(fragment)\" not in: \(text)", file: file, line: line) }
        }
    }

    func testMultiLabelFromJSONLArraysAndCSVCells() throws {
        let jsonl = try write(
            "train.jsonl",
            [
                #"{"text": "a", "label": ["joy", "surprise"]}"#, #"{"text": "b", "label": []}"#, #"{"text": "c", "label": ["anger"]}"#,
                #"{"text": "d", "label": ["joy", "joy"]}"#,
            ])
        let valid = try write("valid.jsonl", [#"{"text": "e", "label": ["surprise"]}"#])
        let data = try prepare(jsonl, validation: valid, .multiLabelClassification)
        XCTAssertEqual(data.labels, ["anger", "joy", "surprise"])
        XCTAssertEqual(data.targets(data.train), [0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0])
        XCTAssertEqual(data.targets(data.validation), [0, 0, 1])
        XCTAssertTrue(data.logLines.contains("1 training rows have none of the labels"), "\(data.logLines)")

        let csv = try write("train.csv", ["text,label", "a,joy|surprise", "b,[]", "c, anger ", "d,anger | joy"])
        let fromCSV = try prepare(csv, validation: valid, .multiLabelClassification, separator: "|")
        XCTAssertEqual(fromCSV.labels, ["anger", "joy", "surprise"])
        XCTAssertEqual(fromCSV.targets(fromCSV.train), [0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0])
        XCTAssertEqual(try ProblemType.inferred(trainPath: jsonl, labelColumn: "label", separator: nil, format: nil), .multiLabelClassification)
        XCTAssertEqual(try ProblemType.inferred(trainPath: csv, labelColumn: "label", separator: "|", format: nil), .multiLabelClassification)
    }

    func testRegressionFromNumbers() throws {
        let jsonl = try write("train.jsonl", [#"{"text": "a", "label": 0.25}"#, #"{"text": "b", "label": -3}"#, #"{"text": "c", "label": "1e2"}"#])
        let valid = try write("valid.csv", ["text,label", "d,4.5"])
        let data = try prepare(jsonl, validation: valid, .regression)
        XCTAssertEqual(data.labels, ["LABEL_0"])
        XCTAssertEqual(data.targets(data.train).map(RegressionObjective.value), [0.25, -3, 100])
        XCTAssertEqual(data.targets(data.validation).map(RegressionObjective.value), [4.5])
        XCTAssertEqual(try ProblemType.inferred(trainPath: jsonl, labelColumn: "label", separator: nil, format: nil), .regression)
        let integers = try write("ints.csv", ["text,label", "a,0", "b,1"])
        XCTAssertEqual(try ProblemType.inferred(trainPath: integers, labelColumn: "label", separator: nil, format: nil), .singleLabelClassification)
    }

    func testFloatLabelInMultiLabelIsRefused() throws {
        let jsonl = try write("train.jsonl", [#"{"text": "a", "label": ["joy"]}"#, #"{"text": "b", "label": 0.7}"#])
        assertBadRow(try prepare(jsonl, .multiLabelClassification), ["train.jsonl:2", "0.7", "list of label names"])
        let inList = try write("list.jsonl", [#"{"text": "a", "label": ["joy", 0.5]}"#])
        assertBadRow(try prepare(inList, .multiLabelClassification), ["list.jsonl:1", "0.5"])
        let csv = try write("train.csv", ["text,label", "a,joy", "b,joy|0.25"])
        assertBadRow(try prepare(csv, .multiLabelClassification, separator: "|"), ["train.csv:3", "0.25 is a number"])
    }

    func testUnknownLabelIsRefusedByName() throws {
        let train = try write("train.jsonl", [#"{"text": "a", "label": ["joy"]}"#, #"{"text": "b", "label": ["anger"]}"#])
        let valid = try write("valid.jsonl", [#"{"text": "c", "label": ["joy"]}"#, #"{"text": "d", "label": ["joy", "fear"]}"#])
        assertBadRow(
            try prepare(train, validation: valid, .multiLabelClassification), ["valid.jsonl:2", "\"fear\"", "never occurs in the training data"])
        let skipped = try prepare(train, validation: valid, .multiLabelClassification, skip: true)
        XCTAssertEqual(skipped.validation.count, 1)
    }

    func testEmptyLabelListsWhereNotAllowed() throws {
        // An empty list where numbers (one per output) or one class is needed.
        let list = try write("list.jsonl", [#"{"text": "a", "label": []}"#])
        assertBadRow(try prepare(list, .regression), ["list.jsonl:1", "is an empty list", "regression"])
        XCTAssertThrowsError(try DataReader.read(list)) { XCTAssertTrue("\($0)".contains("multi_label_classification"), "\($0)") }
        // An empty CSV cell is a missing label (the empty set is written []); an empty name inside a list is refused.
        let csv = try write("train.csv", ["text,label", "a,joy", "b,", "c,joy||anger"])
        assertBadRow(
            try prepare(csv, .multiLabelClassification, separator: "|"),
            ["train.csv:3", "write [] for a row with none", "train.csv:4", "empty label name"])
        // A training split without any label has nothing to learn.
        let none = try write("none.jsonl", [#"{"text": "a", "label": []}"#, #"{"text": "b", "label": []}"#])
        assertBadRow(try prepare(none, validation: list, .multiLabelClassification), ["no row of the training split has a label"])
    }

    func testNaNAndNonNumbersAreRefusedInRegression() throws {
        let csv = try write("train.csv", ["text,label", "a,1.5", "b,nan", "c,inf", "d,high", "e,1e40"])
        assertBadRow(
            try prepare(csv, .regression),
            ["train.csv:3", "nan is not a finite number", "train.csv:4", "train.csv:5", "\"high\" is not a number", "train.csv:6"])
        let jsonl = try write("train.jsonl", [#"{"text": "a", "label": "NaN"}"#])
        assertBadRow(try prepare(jsonl, .regression), ["train.jsonl:1", "NaN is not a finite number"])
    }
}

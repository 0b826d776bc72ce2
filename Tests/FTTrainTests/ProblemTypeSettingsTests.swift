import FTModel
import Foundation
import XCTest

@testable import FTTrain

/// Per-label thresholds (`thresholds`, `tune_thresholds`, `thresholds.json`, predict's overrides)
/// and regression with several outputs (JSONL lists, `label_columns`), with the bad inputs
/// refused by name.
final class ProblemTypeSettingsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-pts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func write(_ name: String, _ lines: [String]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func prepare(_ train: String, validation: String? = nil, columns: [String]? = nil, skip: Bool = false) throws -> ProblemTypeData {
        var options = DataPreparationOptions(trainPath: train, validationPath: validation, testPath: nil)
        options.read.skipBadRows = skip
        options.read.columns.labels = columns
        return try ProblemTypeData.prepare(options, problemType: .regression, labelSeparator: nil)
    }

    func assertThrows(_ expression: @autoclosure () throws -> Any, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let text = "\(error)"
            for fragment in fragments { XCTAssertTrue(text.contains(fragment), "\"\(fragment)\" not in: \(text)", file: file, line: line) }
        }
    }

    func testSeveralOutputsFromJSONLListsAndLabelColumns() throws {
        let jsonl = try write(
            "train.jsonl", [#"{"text": "a", "label": [0.5, 1, -2]}"#, #"{"text": "b", "label": [1.5, "2", 3e1]}"#])
        let data = try prepare(jsonl)
        XCTAssertEqual(data.labels, ["LABEL_0", "LABEL_1", "LABEL_2"])
        XCTAssertEqual(data.targets(data.train).map(RegressionObjective.value), [0.5, 1, -2, 1.5, 2, 30])
        XCTAssertTrue(data.logLines.contains { $0.hasPrefix("targets LABEL_2 (train): 2 rows") }, "\(data.logLines)")
        XCTAssertEqual(try ProblemType.inferred(trainPath: jsonl, labelColumn: "label", separator: nil, format: nil), .regression)
        let ints = try write("ints.jsonl", [#"{"text": "a", "label": [0, 1]}"#])
        XCTAssertEqual(try ProblemType.inferred(trainPath: ints, labelColumn: "label", separator: nil, format: nil), .multiLabelClassification)

        let csv = try write("train.csv", ["valence,text,arousal", "0.25,a,1", " -1 ,b,2.5"])
        let keys = try write("valid.jsonl", [#"{"text": "c", "arousal": 4, "valence": "0.5"}"#])
        let named = try prepare(csv, validation: keys, columns: ["valence", "arousal"])
        XCTAssertEqual(named.labels, ["valence", "arousal"])
        XCTAssertEqual(named.targets(named.train).map(RegressionObjective.value), [0.25, 1, -1, 2.5])
        XCTAssertEqual(named.targets(named.validation).map(RegressionObjective.value), [0.5, 4])
    }

    func testBadOutputRowsAreRefusedWithFileAndLine() throws {
        let short = try write("short.jsonl", [#"{"text": "a", "label": [0.5, 1.5]}"#, #"{"text": "b", "label": [2.5]}"#])
        assertThrows(try prepare(short), ["short.jsonl:2", "1 number where the regression has 2 outputs", "short.jsonl:1"])
        XCTAssertEqual(try prepare(short, skip: true).train.count, 1)
        let mixed = try write("mixed.jsonl", [#"{"text": "a", "label": [0.5, "x"]}"#, #"{"text": "b", "label": []}"#])
        assertThrows(try prepare(mixed), ["mixed.jsonl:1", "\"x\" (output 2 of 2) is not a number", "mixed.jsonl:2", "empty list"])
        let csv = try write("cells.csv", ["text,a,b", "x,1,", "y,1,nan"])
        assertThrows(try prepare(csv, columns: ["a", "b"]), ["cells.csv:2", "empty number (output 2 of 2)", "cells.csv:3", "not a finite number"])
        assertThrows(try prepare(csv, columns: ["a", "c"]), ["cells.csv", "c"])
    }

    func testThresholdSettings() throws {
        let labels = ["anger", "joy", "surprise"]
        XCTAssertEqual(try LabelThresholds.resolve(threshold: 0.5, setting: nil, labels: labels), [0.5, 0.5, 0.5])
        XCTAssertEqual(try LabelThresholds.resolve(threshold: 0.5, setting: .uniform(0.3), labels: labels), [0.3, 0.3, 0.3])
        XCTAssertEqual(
            try LabelThresholds.resolve(threshold: 0.4, setting: .byLabel(["joy": 0.2, "anger": 0.7]), labels: labels), [0.7, 0.2, 0.4])
        assertThrows(
            try LabelThresholds.resolve(threshold: 0.5, setting: .byLabel(["fear": 0.2]), labels: labels),
            ["thresholds", "\"fear\"", "anger, joy, surprise"])
        XCTAssertEqual(LabelThresholdSetting(text: "joy=0.2, anger:0.7"), .byLabel(["joy": 0.2, "anger": 0.7]))
        XCTAssertEqual(LabelThresholdSetting(text: "0.35"), .uniform(0.35))
        XCTAssertNil(LabelThresholdSetting(text: "joy=0.2,joy=0.3"))
        XCTAssertNil(LabelThresholdSetting(text: "joy"))

        // Configuration checks: values in (0, 1), threshold and a number in thresholds not both,
        // repeated label_columns, tune_thresholds off multi-label.
        func problems(_ change: (inout TrainingConfiguration) -> Void) -> String {
            var c = TrainingConfiguration()
            c.outputDir = "out"
            c.modelDir = "model"
            c.trainFile = "train.jsonl"
            change(&c)
            do {
                try c.validate()
                return ""
            } catch { return "\(error)" }
        }
        XCTAssertEqual(problems { $0.thresholds = .byLabel(["joy": 0.2]) }, "")
        XCTAssertTrue(problems { $0.thresholds = .byLabel(["joy": 1.2]) }.contains("thresholds"))
        XCTAssertTrue(problems { $0.thresholds = .uniform(0) }.contains("in (0, 1)"))
        XCTAssertTrue(
            problems {
                $0.threshold = 0.3
                $0.thresholds = .uniform(0.4)
            }.contains("not both"))
        XCTAssertTrue(problems { $0.labelColumns = ["a", "a"] }.contains("distinct"))
        XCTAssertTrue(
            problems {
                $0.tuneThresholds = true
                $0.problemType = .regression
            }.contains("tune_thresholds"))
        // The keys round-trip through a YAML file and flags.
        var c = TrainingConfiguration()
        XCTAssertTrue(ConfigurationKey.named("thresholds")!.parse(&c, "joy=0.25"))
        XCTAssertTrue(ConfigurationKey.named("label_columns")!.parse(&c, "valence,arousal"))
        XCTAssertEqual(c.thresholds, .byLabel(["joy": 0.25]))
        XCTAssertEqual(c.labelColumns, ["valence", "arousal"])
        let yaml = try c.yamlString()
        XCTAssertTrue(yaml.contains("thresholds: {joy: 0.25}"), yaml)
    }

    func testThresholdsFileAndPredictionOverrides() throws {
        let labels = ["anger", "joy", "surprise"]
        try LabelThresholds.write([0.7, 0.2, 0.5], labels: labels, to: directory)
        let text = try String(contentsOf: directory.appendingPathComponent("thresholds.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"joy\" : 0.2"), text)
        XCTAssertEqual(try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: nil, overrides: nil), [0.7, 0.2, 0.5])
        XCTAssertEqual(try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: 0.4, overrides: nil), [0.4, 0.4, 0.4])
        XCTAssertEqual(
            try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: nil, overrides: .byLabel(["surprise": 0.9])),
            [0.7, 0.2, 0.9])
        assertThrows(
            try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: nil, overrides: .byLabel(["fear": 0.9])),
            ["--thresholds", "\"fear\""])
        assertThrows(try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: 1, overrides: nil), ["(0, 1)"])
        // No file: 0.5 for every label.
        let empty = directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertEqual(try LabelThresholds.forPrediction(modelDirectory: empty, labels: labels, threshold: nil, overrides: nil), [0.5, 0.5, 0.5])
        // Bad files name themselves and the problem.
        for (body, fragment) in [
            (#"{"fear": 0.3}"#, "\"fear\" is not one of the model's labels"), (#"{"joy": 1.5}"#, "must be a number in (0, 1)"),
            (#"{"joy": "0.3"}"#, "must be a number"), ("[0.3]", "not a JSON object"),
        ] {
            try body.write(to: empty.appendingPathComponent("thresholds.json"), atomically: true, encoding: .utf8)
            assertThrows(
                try LabelThresholds.forPrediction(modelDirectory: empty, labels: labels, threshold: nil, overrides: nil),
                ["thresholds.json", fragment])
        }
    }
}

import FTTrain
import XCTest

final class DataJSONLinesReaderTests: XCTestCase {
    private func read(_ contents: String, _ options: DataReadOptions = DataReadOptions(skipBadRows: true)) throws -> LoadedData {
        try DataReader.read(contents: Array(contents.utf8), path: "rows.jsonl", options: options)
    }

    func testIntegerAndStringLabels() throws {
        let ints = try read(
            "{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":0}\n{\"text\":\"c\",\"label\":10}\n{\"text\":\"d\",\"label\":2.0}\n{\"text\":\"e\",\"label\":-0}\n"
        )
        XCTAssertEqual(ints.examples.map(\.label), ["1", "0", "10", "2", "0"])
        XCTAssertTrue(ints.allLabelsAreIntegers)
        XCTAssertEqual(LabelSet(training: ints.examples).labels, ["0", "1", "2", "10"])

        let strings = try read("{\"text\":\"a\",\"label\":\"pos\"}\n{\"text\":\"b\",\"label\":\" neg \"}\n")
        XCTAssertEqual(strings.examples.map(\.label), ["pos", "neg"])
        XCTAssertFalse(strings.allLabelsAreIntegers)
    }

    func testBadLabelTypesAreBadRows() throws {
        let loaded = try read(
            """
            {"text":"ok","label":"pos"}
            {"text":"float","label":1.5}
            {"text":"exp","label":1e2}
            {"text":"bool","label":true}
            {"text":"null","label":null}
            {"text":"absent"}
            {"text":"array","label":[1]}
            {"text":"","label":"pos"}
            {"text":5,"label":"pos"}
            """)
        XCTAssertEqual(loaded.examples.map(\.text), ["ok"])
        XCTAssertEqual(
            loaded.skippedRows.map(\.description),
            [
                "rows.jsonl:2: label 1.5 is not an integer; labels must be strings or integers (a float label needs problem_type regression)",
                "rows.jsonl:3: label 1e2 is not an integer; labels must be strings or integers (a float label needs problem_type regression)",
                "rows.jsonl:4: label \"label\" must be a string or an integer, found a boolean",
                "rows.jsonl:5: missing label: \"label\" is null",
                "rows.jsonl:6: missing label: no \"label\" key",
                "rows.jsonl:7: label \"label\" is an array; a list of labels needs problem_type multi_label_classification",
                "rows.jsonl:8: empty text in column \"text\"",
                "rows.jsonl:9: \"text\" must be a string, found a number",
            ])
    }

    func testInvalidJSONNamesLineAndColumn() throws {
        let loaded = try read(
            "{\"text\":\"ok\",\"label\":\"a\"}\n{\"text\":\"x\",\"label\":\"b\",}\n{\"text\":\"y\" \"label\":\"b\"}\n[1,2]\n{\"text\":\"好\",\"label\":b}\n"
        )
        XCTAssertEqual(loaded.examples.count, 1)
        XCTAssertEqual(
            loaded.skippedRows.map(\.description),
            [
                "rows.jsonl:2: invalid JSON at column 25: expected a key in double quotes, found '}'",
                "rows.jsonl:3: invalid JSON at column 13: expected ',' or '}', found '\"'",
                "rows.jsonl:4: expected a JSON object, found an array",
                // Columns count characters, not bytes: 好 is one column.
                "rows.jsonl:5: invalid JSON at column 21: expected a value, found 'b'",
            ])
        let strict = dataError { _ = try self.read("{\"text\":\"ok\",\"label\":\"a\"}\n{bad\n", DataReadOptions()) }
        XCTAssertEqual(
            strict,
            .badRows([
                BadRow(
                    location: SourceLocation(file: "rows.jsonl", line: 2),
                    reason: "invalid JSON at column 2: expected a key in double quotes, found 'b'")
            ]))
    }

    func testEscapesCRLFBlankLinesAndBOM() throws {
        let loaded = try read(
            "\u{FEFF}{\"text\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" a\\/b\",\"label\":\"x\"}\r\n\r\n  \r\n{\"label\":\"y\",\"text\":\"second\",\"extra\":{\"nested\":[1,{\"a\":null}]}}\r\n"
        )
        XCTAssertEqual(loaded.examples.map(\.text), ["café 😀 \"q\" a/b", "second"])
        XCTAssertEqual(loaded.examples.map(\.location.line), [1, 4])
        XCTAssertTrue(loaded.skippedRows.isEmpty)
    }

    func testTextPairAndCustomKeys() throws {
        let options = DataReadOptions(columns: DataColumns(text: "q", textPair: "p", label: "y"))
        let loaded = try read("{\"q\":\"question\",\"p\":\"passage\",\"y\":3}\n", options)
        XCTAssertEqual(
            loaded.examples,
            [
                TextExample(
                    text: "question", textPair: "passage", label: "3",
                    location: SourceLocation(file: "rows.jsonl", line: 1))
            ])
    }

    func testMisconfiguredKeysFailWithTheKeysFound() {
        let error = dataError { _ = try self.read("{\"sentence\":\"a\",\"label\":1}\n{\"sentence\":\"b\",\"label\":0}\n") }
        XCTAssertEqual(error, .missingColumns(path: "rows.jsonl", missing: ["text"], available: ["sentence", "label"]))
        XCTAssertEqual(error?.description, "rows.jsonl: column \"text\" not found; the file has \"sentence\", \"label\"")
    }

    func testAKeyMissingOnlyFromSomeRowsIsABadRowNotAMisconfiguration() throws {
        let loaded = try read("{\"text\":\"no label here\"}\n{\"text\":\"b\",\"label\":\"x\"}\n")
        XCTAssertEqual(loaded.examples.map(\.text), ["b"])
        XCTAssertEqual(loaded.skippedRows.map(\.description), ["rows.jsonl:1: missing label: no \"label\" key"])
    }

    func testJSONArrayFileIsNotJSONLines() {
        let error = dataError { _ = try DataReader.read(contents: Array("[{\"text\":\"a\",\"label\":1}]".utf8), path: "all.json") }
        XCTAssertEqual(error, .notJSONLines(path: "all.json"))
    }
}

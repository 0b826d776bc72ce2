import Foundation
import FTTrain
import XCTest

/// A fresh temporary directory for one test's input files, removed when the test ends.
final class DataTempFiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `text` as UTF-8 and returns the path.
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Runs `body` and returns the `DataError` it throws, failing the test if it throws nothing or
/// something else.
func dataError(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> DataError? {
    do {
        try body()
        XCTFail("expected a DataError, nothing was thrown", file: file, line: line)
    } catch let error as DataError {
        return error
    } catch {
        XCTFail("expected a DataError, got \(error)", file: file, line: line)
    }
    return nil
}

func example(_ text: String, _ label: String, line: Int = 1, file: String = "mem.csv", pair: String? = nil) -> TextExample {
    TextExample(text: text, textPair: pair, label: label, location: SourceLocation(file: file, line: line))
}

/// The two checked-in awkward files (written byte by byte so the BOM, CRLF and missing final
/// newline survive any editor).
final class DataFixturesTests: XCTestCase {
    private func fixture(_ name: String, _ ext: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/data")).path
    }

    func testAwkwardCSV() throws {
        let path = try fixture("awkward", "csv")
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        // Guard the fixture itself: a checkout that converted line ends would make this test vacuous.
        XCTAssertEqual(Array(raw.prefix(3)), [0xEF, 0xBB, 0xBF])
        XCTAssertTrue(raw.contains(0x0D))
        XCTAssertNotEqual(raw.last, 0x0A)

        let loaded = try DataReader.read(path, options: DataReadOptions(cleaning: .none))
        XCTAssertEqual(loaded.format, .csv)
        XCTAssertEqual(
            loaded.examples.map(\.text),
            [
                "Great film, truly great",
                "He said \"wow\" twice",
                "first line\r\nsecond line",
                "这部电影很棒!😀",
                "plain text",
            ])
        XCTAssertEqual(loaded.examples.map(\.label), ["2", "1", "0", "2", "10"])
        // The quoted newline makes row 3 two lines long, so row 4 starts on line 6.
        XCTAssertEqual(loaded.examples.map(\.location.line), [2, 3, 4, 6, 7])
        XCTAssertEqual(loaded.examples[0].location.file, path)
        XCTAssertTrue(loaded.allLabelsAreIntegers)
        XCTAssertEqual(LabelSet(training: loaded.examples).labels, ["0", "1", "2", "10"])

        let cleaned = try DataReader.read(path)
        XCTAssertEqual(cleaned.examples[2].text, "first line second line")
    }

    func testReviewsJSONL() throws {
        let loaded = try DataReader.read(try fixture("reviews", "jsonl"))
        XCTAssertEqual(loaded.format, .jsonl)
        XCTAssertEqual(loaded.examples.map(\.text), ["I loved it", "不好看 😡", "tab inside \"quoted\""])
        XCTAssertEqual(loaded.examples.map(\.label), ["pos", "neg", "pos"])
        XCTAssertEqual(loaded.examples.map(\.location.line), [1, 3, 5])
        XCTAssertFalse(loaded.allLabelsAreIntegers)
    }
}

import FTTrain
import XCTest

/// Every rejection names the file, and the line where there is one.
final class DataReaderErrorTests: XCTestCase {
    func testMissingFileAndDirectory() throws {
        let files = try DataTempFiles()
        let missing = files.directory.appendingPathComponent("nope.csv").path
        let error = dataError { _ = try DataReader.read(missing) }
        XCTAssertEqual(error, .fileNotFound(path: missing))
        XCTAssertEqual(error?.description, "\(missing): file not found")

        // A missing file is reported as missing even when its extension is unknown too.
        let missingText = files.directory.appendingPathComponent("nope.txt").path
        XCTAssertEqual(dataError { _ = try DataReader.read(missingText) }, .fileNotFound(path: missingText))

        let directory = files.directory.appendingPathComponent("dir.csv")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        XCTAssertEqual(dataError { _ = try DataReader.read(directory.path) }, .unreadable(path: directory.path, reason: "it is a directory"))
    }

    func testEmptyFiles() throws {
        let files = try DataTempFiles()
        for (name, bytes) in [("zero.csv", [UInt8]()), ("bom.csv", [0xEF, 0xBB, 0xBF]), ("blank.jsonl", Array(" \n\r\n".utf8))] {
            let path = try files.write(name, bytes: bytes)
            let error = dataError { _ = try DataReader.read(path) }
            XCTAssertEqual(error, .emptyFile(path: path), name)
            XCTAssertEqual(error?.description, "\(path): the file is empty")
        }
    }

    func testHeaderOnlyAndUnknownFormat() throws {
        let files = try DataTempFiles()
        let headerOnly = try files.write("h.csv", "text,label\n")
        XCTAssertEqual(
            dataError { _ = try DataReader.read(headerOnly) }?.description,
            "\(headerOnly): the file has a header but no data rows")
        let txt = try files.write("data.txt", "text,label\na,b\n")
        let error = dataError { _ = try DataReader.read(txt) }
        XCTAssertEqual(error, .unknownFormat(path: txt, fileExtension: "txt"))
        XCTAssertTrue(error!.description.contains("csv, tsv or jsonl"))
    }

    func testMissingColumnsListTheHeader() throws {
        let error = dataError {
            _ = try DataReader.read(
                contents: Array("review,sentiment,id\na,pos,1\n".utf8), path: "r.csv",
                options: DataReadOptions(columns: DataColumns(label: "sentiment")))
        }
        XCTAssertEqual(error, .missingColumns(path: "r.csv", missing: ["text"], available: ["review", "sentiment", "id"]))
        XCTAssertEqual(error?.description, "r.csv: column \"text\" not found; the file has \"review\", \"sentiment\", \"id\"")

        let both = dataError {
            _ = try DataReader.read(
                contents: Array("a,b\n1,2\n".utf8), path: "r.csv",
                options: DataReadOptions(columns: DataColumns(textPair: "pair")))
        }
        XCTAssertEqual(both?.description, "r.csv: columns \"text\", \"pair\", \"label\" not found; the file has \"a\", \"b\"")

        let duplicate = dataError { _ = try DataReader.read(contents: Array("text,label,text\na,b,c\n".utf8), path: "d.csv") }
        XCTAssertEqual(duplicate, .duplicateColumn(path: "d.csv", name: "text"))
    }

    func testUnterminatedQuoteNamesTheLineWhereItOpened() {
        let csv = "text,label\nfine,a\n\"never closed,b\nmore text,c\neven more,d\n"
        let error = dataError { _ = try DataReader.read(contents: Array(csv.utf8), path: "q.csv") }
        XCTAssertEqual(error, .unterminatedQuote(path: "q.csv", line: 3))
        XCTAssertTrue(error!.description.hasPrefix("q.csv:3: a quoted field opened on this line is never closed"))
    }

    func testFieldCountMismatchIsABadRow() throws {
        let csv = "text,label\ngood,a\nunquoted, comma,b\nshort\n"
        let error = dataError { _ = try DataReader.read(contents: Array(csv.utf8), path: "f.csv") }
        XCTAssertEqual(
            error,
            .badRows([
                BadRow(
                    location: SourceLocation(file: "f.csv", line: 3),
                    reason: "expected 2 fields (as in the header), found 3 (an unquoted delimiter inside a field? quote the field)"),
                BadRow(location: SourceLocation(file: "f.csv", line: 4), reason: "expected 2 fields (as in the header), found 1"),
            ]))
    }

    func testInvalidUTF8NamesTheLine() {
        // "好" in GBK is 0xBA 0xC3: not UTF-8.
        var bytes = Array("text,label\nok,a\nalso ok,b\n".utf8)
        bytes += [0xBA, 0xC3] + Array(",c\n".utf8)
        let error = dataError { _ = try DataReader.read(contents: bytes, path: "gbk.csv") }
        XCTAssertEqual(error, .invalidUTF8(path: "gbk.csv", line: 4))
        XCTAssertTrue(error!.description.contains("gbk.csv:4: the file is not valid UTF-8"))

        // Overlong encodings and encoded surrogates are invalid too.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE4, 0xB8]] {
            let error = dataError { _ = try DataReader.read(contents: Array("{\"text\":\"".utf8) + bad, path: "x.jsonl") }
            XCTAssertEqual(error, .invalidUTF8(path: "x.jsonl", line: 1), "\(bad)")
        }
    }

    func testEmptyTextAndLabelAreBadRowsListedWithFileAndLine() throws {
        let csv = "text,label\ngood,a\n,b\n   ,c\nno label,\n<p></p>,d\n"
        let options = DataReadOptions(cleaning: TextCleaning(stripHTML: true))
        let error = dataError { _ = try DataReader.read(contents: Array(csv.utf8), path: "bad.csv", options: options) }
        XCTAssertEqual(
            error?.description,
            """
            bad.csv: 4 bad rows (fix them, or set skip_bad_rows: true / --skip-bad-rows to drop and report them):
              bad.csv:3: empty text in column "text"
              bad.csv:4: empty text in column "text"
              bad.csv:5: empty label in column "label"
              bad.csv:6: text in column "text" is empty after cleaning
            """)

        var skipping = options
        skipping.skipBadRows = true
        let loaded = try DataReader.read(contents: Array(csv.utf8), path: "bad.csv", options: skipping)
        XCTAssertEqual(loaded.examples.map(\.text), ["good"])
        XCTAssertEqual(loaded.skippedRows.map(\.location.line), [3, 4, 5, 6])
    }

    func testManyBadRowsListTenAndCountTheRest() {
        var csv = "text,label\n"
        for i in 0..<25 { csv += "row \(i),\n" }
        csv += "fine,a\n"
        let error = dataError { _ = try DataReader.read(contents: Array(csv.utf8), path: "many.csv") }
        guard case .badRows(let rows)? = error else { return XCTFail("expected bad rows") }
        XCTAssertEqual(rows.count, 25)
        let lines = error!.description.split(separator: "\n")
        XCTAssertEqual(lines.first, "many.csv: 25 bad rows (fix them, or set skip_bad_rows: true / --skip-bad-rows to drop and report them):")
        XCTAssertEqual(lines.count, 1 + 10 + 1)
        XCTAssertEqual(lines[1], "  many.csv:2: empty label in column \"label\"")
        XCTAssertEqual(lines[10], "  many.csv:11: empty label in column \"label\"")
        XCTAssertEqual(lines.last, "  ... and 15 more")
    }

    func testAllRowsBadAndSkippedIsAnError() {
        let error = dataError {
            _ = try DataReader.read(
                contents: Array("text,label\n,a\n,b\n".utf8), path: "none.csv",
                options: DataReadOptions(skipBadRows: true))
        }
        XCTAssertEqual(error, .noDataRows(path: "none.csv", skipped: 2))
        XCTAssertEqual(error?.description, "none.csv: no usable rows (all 2 rows were bad and skipped)")
    }
}

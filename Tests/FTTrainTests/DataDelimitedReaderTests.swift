import FTTrain
import XCTest

final class DataDelimitedReaderTests: XCTestCase {
    private func read(
        _ contents: String, name: String = "data.csv", _ options: DataReadOptions = DataReadOptions(cleaning: .none)
    ) throws -> LoadedData {
        try DataReader.read(contents: Array(contents.utf8), path: name, options: options)
    }

    func testQuotedCommasNewlinesAndDoubledQuotes() throws {
        let csv = "text,label\n\"a, b\",x\n\"say \"\"hi\"\"\",y\n\"two\nlines\",x\n\"\",y2\nlast,z"
        let loaded = try read(csv, DataReadOptions(cleaning: .none, skipBadRows: true))
        XCTAssertEqual(loaded.examples.map(\.text), ["a, b", "say \"hi\"", "two\nlines", "last"])
        XCTAssertEqual(loaded.examples.map(\.location.line), [2, 3, 4, 7])
        // The quoted empty field is a row (not a blank line) with empty text: a bad row at line 6.
        XCTAssertEqual(loaded.skippedRows.map(\.description), ["data.csv:6: empty text in column \"text\""])
    }

    func testCRLFAndLoneCRAndBOMAndNoTrailingNewline() throws {
        let crlf = try read("\u{FEFF}text,label\r\nfirst,a\r\n\"multi\r\nline\",b\r\nlast,c")
        XCTAssertEqual(crlf.examples.map(\.text), ["first", "multi\r\nline", "last"])
        XCTAssertEqual(crlf.examples.map(\.label), ["a", "b", "c"])
        XCTAssertEqual(crlf.examples.map(\.location.line), [2, 3, 5])

        let oldMac = try read("text,label\rone,a\rtwo,b\r")
        XCTAssertEqual(oldMac.examples.map(\.text), ["one", "two"])
        XCTAssertEqual(oldMac.examples.map(\.location.line), [2, 3])

        // The BOM must not become part of the first column's name.
        let bomFirst = try read("\u{FEFF}label,text\n1,x\n")
        XCTAssertEqual(bomFirst.examples.first?.label, "1")
    }

    func testBlankLinesAreSkippedButCounted() throws {
        let loaded = try read("text,label\n\nfirst,a\n   \n\nsecond,b\n\n")
        XCTAssertEqual(loaded.examples.map(\.text), ["first", "second"])
        XCTAssertEqual(loaded.examples.map(\.location.line), [3, 6])
    }

    func testChineseEmojiAndIntegerLabels() throws {
        let loaded = try read("label,text\n1,这个手机真不错 👍\n0,\"质量差,不推荐\"\n2,👨‍👩‍👧 family\n")
        XCTAssertEqual(loaded.examples.map(\.text), ["这个手机真不错 👍", "质量差,不推荐", "👨‍👩‍👧 family"])
        XCTAssertEqual(loaded.examples.map(\.label), ["1", "0", "2"])
        XCTAssertTrue(loaded.allLabelsAreIntegers)

        let mixed = try read("text,label\na,1\nb,pos\n")
        XCTAssertFalse(mixed.allLabelsAreIntegers)
    }

    func testConfiguredColumnsPairAndTrimmedHeader() throws {
        let csv = "id, premise ,hypothesis,gold\n1,A man eats.,Someone eats.,entailment\n2,A dog runs.,  ,neutral\n"
        let options = DataReadOptions(
            columns: DataColumns(text: "premise", textPair: "hypothesis", label: "gold"),
            skipBadRows: true)
        let loaded = try read(csv, options)
        XCTAssertEqual(loaded.examples.count, 1)
        XCTAssertEqual(loaded.examples[0].text, "A man eats.")
        XCTAssertEqual(loaded.examples[0].textPair, "Someone eats.")
        XCTAssertEqual(loaded.examples[0].label, "entailment")
        XCTAssertEqual(loaded.skippedRows.map(\.description), ["data.csv:3: empty text in column \"hypothesis\""])
    }

    func testLabelsAreTrimmedAndLenientQuotesAsPandas() throws {
        let loaded = try read("text,label\n\"quoted\"tail, pos \nmid\"quote,neg\n")
        XCTAssertEqual(loaded.examples.map(\.text), ["quotedtail", "mid\"quote"])
        XCTAssertEqual(loaded.examples.map(\.label), ["pos", "neg"])
    }

    func testTSVWithQuotesAndTabs() throws {
        let tsv = "text\tlabel\nplain, with comma\tpos\n\"tab\tinside\"\tneg\n中文\t1\n"
        let loaded = try read(tsv, name: "data.tsv")
        XCTAssertEqual(loaded.format, .tsv)
        XCTAssertEqual(loaded.examples.map(\.text), ["plain, with comma", "tab\tinside", "中文"])
        XCTAssertEqual(loaded.examples.map(\.label), ["pos", "neg", "1"])
        // An explicit format wins over the extension.
        let forced = try read(tsv, name: "data.txt", DataReadOptions(format: .tsv))
        XCTAssertEqual(forced.examples.count, 3)
    }

    func testFormatInference() {
        XCTAssertEqual(DataFormat.inferred(fromPath: "a/b.CSV"), .csv)
        XCTAssertEqual(DataFormat.inferred(fromPath: "b.tsv"), .tsv)
        XCTAssertEqual(DataFormat.inferred(fromPath: "b.jsonl"), .jsonl)
        XCTAssertEqual(DataFormat.inferred(fromPath: "b.json"), .jsonl)
        XCTAssertNil(DataFormat.inferred(fromPath: "dir.csv/file"))
        XCTAssertNil(DataFormat.inferred(fromPath: ".csv"))
    }

    func testRealSizedFileReadsCompletely() throws {
        // 20k rows with quotes, commas and a multi-line field every 100 rows: counts and line numbers
        // must stay exact over a whole file, not just a toy one.
        var csv = "text,label\n"
        var expectedLines: [Int] = []
        var line = 2
        for i in 0..<20_000 {
            expectedLines.append(line)
            if i % 100 == 0 {
                csv += "\"row \(i), quoted\nsecond line\",\(i % 3)\n"
                line += 2
            } else {
                csv += "row \(i) plain,\(i % 3)\n"
                line += 1
            }
        }
        let loaded = try read(csv)
        XCTAssertEqual(loaded.examples.count, 20_000)
        XCTAssertEqual(loaded.examples.map(\.location.line), expectedLines)
        XCTAssertEqual(loaded.examples[100].text, "row 100, quoted\nsecond line")
    }
}

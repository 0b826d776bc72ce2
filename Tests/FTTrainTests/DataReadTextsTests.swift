import FTTrain
import XCTest

/// Prediction input: texts without labels, one result per data row.
final class DataReadTextsTests: XCTestCase {
    func testEveryRowIsKeptInOrderWithoutALabelColumn() throws {
        let files = try DataTempFiles()
        let csv = try files.write("in.csv", "id,text\n1,\"first,  one\"\n2,\n3,third\n")
        let texts = try DataReader.readTexts(csv)
        XCTAssertEqual(texts.map(\.text), ["first, one", "", "third"])
        XCTAssertEqual(texts.map(\.pair), [nil, nil, nil])

        let jsonl = try files.write("in.jsonl", "{\"q\":\"a\",\"p\":\"x\"}\n\n{\"q\":\"<b>b</b>\",\"p\":\"y\"}\n")
        let pairs = try DataReader.readTexts(jsonl, textColumn: "q", textPairColumn: "p", cleaning: .all)
        XCTAssertEqual(pairs.map(\.text), ["a", "b"])
        XCTAssertEqual(pairs.map(\.pair), ["x", "y"])

        let tsv = try files.write("in.dat", "text\nx\ny\n")
        XCTAssertEqual(try DataReader.readTexts(tsv, format: .tsv).map(\.text), ["x", "y"])
    }

    func testUnreadableRowsFailInsteadOfShiftingTheOutput() throws {
        let files = try DataTempFiles()
        let csv = try files.write("in.csv", "id,text\n1,a\n2,b,extra\n")
        XCTAssertEqual(
            dataError { _ = try DataReader.readTexts(csv) },
            .badRows([
                BadRow(
                    location: SourceLocation(file: csv, line: 3),
                    reason: "expected 2 fields (as in the header), found 3 (an unquoted delimiter inside a field? quote the field)")
            ]))
        let jsonl = try files.write("in.jsonl", "{\"text\":\"a\"}\n{\"text\":null}\n")
        XCTAssertEqual(
            dataError { _ = try DataReader.readTexts(jsonl) }?.description,
            "\(jsonl): 1 bad row (fix them, or set skip_bad_rows: true / --skip-bad-rows to drop and report them):\n  \(jsonl):2: empty text: \"text\" is null"
        )
        let wrongColumn = try files.write("w.csv", "sentence\nhello\n")
        XCTAssertEqual(
            dataError { _ = try DataReader.readTexts(wrongColumn) },
            .missingColumns(path: wrongColumn, missing: ["text"], available: ["sentence"]))
    }
}

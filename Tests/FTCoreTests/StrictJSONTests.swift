import FTCore
import XCTest

/// The one strict JSON parser: what both the safetensors header and the JSON Lines readers rely on.
final class StrictJSONTests: XCTestCase {
    private func parse(_ text: String, _ options: StrictJSON.Options = StrictJSON.Options()) throws -> StrictJSON.Value {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { try StrictJSON.parse($0, options: options) }
    }

    private func error(_ text: String, _ options: StrictJSON.Options = StrictJSON.Options()) -> StrictJSON.SyntaxError? {
        do {
            _ = try parse(text, options)
            return nil
        } catch { return error as? StrictJSON.SyntaxError }
    }

    func testMembersKeepOrderAndDuplicatesNumbersKeepTheirText() throws {
        XCTAssertEqual(
            try parse(#" {"b": 1.50, "a": [true, null, "x"], "b": -0e3} "#),
            .object([
                .init(key: "b", value: .number("1.50")),
                .init(key: "a", value: .array([.bool(true), .null, .string("x")])),
                .init(key: "b", value: .number("-0e3")),
            ]))
    }

    func testStrictness() {
        XCTAssertEqual(error(#"{"a":1,}"#), StrictJSON.SyntaxError(message: "expected a key in double quotes, found '}'", offset: 7))
        XCTAssertEqual(error("[1,]")?.message, "expected a value, found ']'")
        XCTAssertEqual(error("01")?.message, "invalid number (leading zero)")
        XCTAssertEqual(error("1 2")?.message, "unexpected '2' after the value")
        XCTAssertEqual(error("\"a\u{1}\"")?.message, "control character in a string (escape it, e.g. \\n)")
        XCTAssertEqual(error("", .init(endName: "end of line"))?.message, "expected a value, found end of line")
        XCTAssertEqual(error(String(repeating: "[", count: 5), .init(maximumDepth: 4))?.message, "nesting deeper than 4 levels")
    }

    func testLoneSurrogatesAreReplacedOrRejected() throws {
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse(#""a\ud800b""#), .string("a\u{FFFD}b"))
        XCTAssertEqual(error(#""a\ud800b""#, .init(loneSurrogates: .reject))?.message, "unpaired surrogate in \\u escape")
        XCTAssertEqual(error(#""\udc00""#, .init(loneSurrogates: .reject))?.message, "unpaired surrogate in \\u escape")
    }

    func testColumnsCountScalars() {
        let text = Array("好 x".utf8)
        text.withUnsafeBufferPointer { XCTAssertEqual(StrictJSON.column(ofOffset: 4, in: $0), 3) }
    }
}

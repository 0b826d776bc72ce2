import FTModel
import Foundation
import XCTest

/// RoBERTa's `tokenizer.json` tokenizer against Hugging Face's `RobertaTokenizerFast` (tokenizers
/// 0.23): ids, token types and character offsets of ~50 texts (accents, combining marks, CJK, emoji
/// with modifiers and ZWJ, whitespace runs, special tokens in the text), pairs, `longest_first`
/// truncation and `add_prefix_space=True` (scripts/reference/make_roberta_reference.py). Exact.
final class RobertaTokenizerTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let pair: String?
        let max_length: Int?
        let ids: [Int32]
        let type_ids: [Int32]
        let offsets: [[Int]]
    }

    struct Cases: Decodable {
        let format_version: String
        let single: [Case], pairs: [Case], truncation: [Case], add_prefix_space: [Case]
    }

    static var fixtures: URL {
        get throws { try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)) }
    }

    static func cases() throws -> Cases {
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: fixtures.appendingPathComponent("roberta_tokenizer_cases.json")))
        XCTAssertEqual(cases.format_version, "1")
        return cases
    }

    func check(_ tokenizer: RobertaTokenizer, _ cases: [Case], _ kind: String) {
        for c in cases {
            let e = tokenizer.encodeWithOffsets(c.text, pair: c.pair, maxLength: c.max_length)
            let label = "\(kind) \(c.text.debugDescription) \(c.pair?.debugDescription ?? "") \(c.max_length.map(String.init) ?? "")"
            XCTAssertEqual(e.encoding.inputIds, c.ids, label)
            XCTAssertEqual(e.encoding.tokenTypeIds, c.type_ids, label)
            XCTAssertEqual(e.encoding.attentionMask, [Int32](repeating: 1, count: c.ids.count), label)
            XCTAssertEqual(zip(e.starts, e.ends).map { [$0, $1] }, c.offsets, label + " offsets")
            XCTAssertEqual(tokenizer.encode(c.text, pair: c.pair, maxLength: c.max_length), e.encoding, label)
        }
    }

    func testMatchesTheFastTokenizer() throws {
        let directory = try Self.fixtures.appendingPathComponent("roberta_tiny")
        let tokenizer = try RobertaTokenizer.load(directory: directory)
        XCTAssertEqual([tokenizer.clsTokenId, tokenizer.padTokenId, tokenizer.sepTokenId, tokenizer.unkTokenId], [0, 1, 2, 3])
        XCTAssertFalse(tokenizer.addPrefixSpace)
        XCTAssertTrue(tokenizer.trimOffsets)
        let cases = try Self.cases()
        XCTAssertGreaterThanOrEqual(cases.single.count, 50)
        check(tokenizer, cases.single, "single")
        check(tokenizer, cases.pairs, "pair")
        check(tokenizer, cases.truncation, "truncation")

        // add_prefix_space=True, as `from_pretrained(..., add_prefix_space=True)` sets it in tokenizer_config.json.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("roberta-prefix-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: directory, to: copy)
        let configURL = copy.appendingPathComponent("tokenizer_config.json")
        var config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["add_prefix_space"] = true
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let prefixed = try RobertaTokenizer.load(directory: copy)
        XCTAssertTrue(prefixed.addPrefixSpace)
        check(prefixed, cases.add_prefix_space, "add_prefix_space")
    }

    /// A `tokenizer.json` whose model no tokenizer here reads fails, naming the file and the type.
    func testUnsupportedTokenizerModelIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("unigram-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let json = #"{"model": {"type": "WordLevel", "unk_token": "<unk>", "vocab": {"<unk>": 0}}, "normalizer": null}"#
        try json.write(to: directory.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EncoderTokenizers.load(modelDirectory: directory)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("\"WordLevel\"") && message.contains("tokenizer.json"), message)
        }
        XCTAssertThrowsError(try RobertaTokenizer.load(directory: directory)) { XCTAssertTrue("\($0)".contains("WordLevel"), "\($0)") }
        // A byte-level BPE without RoBERTa's post-processor is refused by name too.
        var object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("roberta_tiny/tokenizer.json")))
                as? [String: Any])
        object["post_processor"] = ["type": "BertProcessing"]
        try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try EncoderTokenizers.load(modelDirectory: directory)) { XCTAssertTrue("\($0)".contains("BertProcessing"), "\($0)") }
    }
}

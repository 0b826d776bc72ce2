import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// The encoder tasks' data path on a byte-level BPE (RoBERTa) tokenizer read from a
/// tokenizer.json-only directory (Tests/FTModelTests/Fixtures/roberta_tiny), against Hugging Face
/// on the committed cases of scripts/reference/make_roberta_task_fixture.py: run_ner's
/// `is_split_into_words` ids, `word_ids()` and first-sub-token / all-sub-token labels
/// (RobertaTokenizerFast with add_prefix_space=True), and run_qa's overflowing windows (ids,
/// `sequence_ids()`, offsets of question and context, start/end positions) at three
/// max_length / doc_stride settings. Every value must be equal.
final class RobertaTaskFixtureTests: XCTestCase {
    static var robertaDirectory: URL { TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/roberta_tiny") }

    static func cases() throws -> [String: Any] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "roberta_task_cases", withExtension: "json", subdirectory: "Fixtures"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(object["format_version"] as? Int, 1, "fixture format changed: update the test")
        return object
    }

    static func tokenizer() throws -> any EncoderTokenizer {
        XCTAssertFalse(FileManager.default.fileExists(atPath: robertaDirectory.appendingPathComponent("vocab.txt").path))
        let tokenizer = try EncoderTokenizers.load(modelDirectory: robertaDirectory)
        XCTAssertTrue(tokenizer is RobertaTokenizer)
        return tokenizer
    }

    func testSpecialTokens() throws {
        let tokenizer = try Self.tokenizer()
        XCTAssertEqual([tokenizer.clsTokenId, tokenizer.padTokenId, tokenizer.sepTokenId], [0, 1, 2])
        XCTAssertEqual(tokenizer.unknownTokenId, 3)
        XCTAssertEqual(tokenizer.maskTokenId, 4)
        XCTAssertEqual(tokenizer.specialTokenCount(pair: false), 2)
        XCTAssertEqual(tokenizer.specialTokenCount(pair: true), 4)
        let laid = tokenizer.withSpecialTokens([10, 11], pair: [12])
        XCTAssertEqual(laid.encoding.inputIds, [0, 10, 11, 2, 2, 12, 2])
        XCTAssertEqual(laid.sequenceIds, [nil, 0, 0, nil, nil, 1, nil])
        XCTAssertEqual(laid.encoding.tokenTypeIds, [Int32](repeating: 0, count: 7))
        // The generic layout agrees with `encode` on a pair.
        let a = "Hello world!", b = "Paris is the capital."
        XCTAssertEqual(
            tokenizer.withSpecialTokens(tokenizer.encodeIds(a), pair: tokenizer.encodeIds(b)).encoding, tokenizer.encode(a, pair: b, maxLength: nil))
    }

    func testWordsAndLabelsEqualRunNER() throws {
        let cases = try Self.cases()
        let tokenizer = try Self.tokenizer()
        let labels = try XCTUnwrap(cases["labels"] as? [String])
        var checked = 0
        for (k, c) in try XCTUnwrap(cases["words"] as? [[String: Any]]).enumerated() {
            let words = try XCTUnwrap(c["words"] as? [String]), tags = try XCTUnwrap(c["tags"] as? [String])
            let maxLength = c["max_length"] as? Int
            let at = "case \(k) \(words) max_length \(maxLength.map(String.init) ?? "none")"
            let encoded = tokenizer.encodeWords(words, maxLength: maxLength)
            XCTAssertEqual(encoded.encoding.inputIds, try XCTUnwrap(c["input_ids"] as? [Int]).map(Int32.init), at)
            XCTAssertEqual(encoded.wordIds, try XCTUnwrap(c["word_ids"] as? [Any]).map { $0 as? Int }, at)
            let sentence = TaggedSentence(tokens: words, tags: tags, location: SourceLocation(file: "cases", line: k + 1))
            for (all, key) in [(false, "labels_first"), (true, "labels_all")] {
                var options = TokenClassificationTask.Options()
                options.labelAllTokens = all
                options.maxLength = maxLength ?? 512
                var counts = TokenClassificationTask.EncodingCounts()
                let dataset = TokenClassificationTask.encode([sentence], labels: labels, tokenizer: tokenizer, options: options, counts: &counts)
                XCTAssertEqual(dataset.tokenLabels[0], try XCTUnwrap(c[key] as? [Int]).map(Int32.init), "\(key), \(at)")
            }
            checked += 1
        }
        XCTAssertEqual(checked, 21)
    }

    func testQAWindowsEqualRunQA() throws {
        let cases = try Self.cases()
        let tokenizer = try Self.tokenizer()
        let examples = try XCTUnwrap(cases["examples"] as? [[String: Any]]).enumerated().map { k, row in
            try SquadData.flat(row, location: SourceLocation(file: "roberta_task_cases.json", line: k + 1))
        }
        func offsets(_ raw: [Any]) -> [Range<Int>?] { raw.map { ($0 as? [Int]).map { $0[0]..<$0[1] } } }
        var checked = 0
        for setting in try XCTUnwrap(cases["qa"] as? [[String: Any]]) {
            let maxLength = try XCTUnwrap(setting["max_seq_length"] as? Int), stride = try XCTUnwrap(setting["doc_stride"] as? Int)
            let expected = try XCTUnwrap(setting["features"] as? [[String: Any]])
            let features = try QuestionAnsweringFeatures.make(examples, tokenizer: tokenizer, maxLength: maxLength, docStride: stride)
            XCTAssertEqual(features.count, expected.count, "windows at max_length \(maxLength), stride \(stride)")
            var windows: [PairWindow] = []
            for e in examples {
                windows += tokenizer.encodePairWindows(
                    String(e.question.drop { $0.isWhitespace }), e.context, maxLength: maxLength, stride: stride)
            }
            for (k, (mine, theirs)) in zip(features, expected).enumerated() {
                let at = "feature \(k) at max_length \(maxLength), stride \(stride)"
                XCTAssertEqual(mine.example, theirs["example"] as? Int, at)
                XCTAssertEqual(mine.encoding.inputIds, (theirs["input_ids"] as? [Int])?.map(Int32.init), at)
                XCTAssertEqual(mine.encoding.tokenTypeIds, [Int32](repeating: 0, count: mine.encoding.count), at)
                XCTAssertEqual(mine.offsets, offsets(try XCTUnwrap(theirs["offsets"] as? [Any])), at)
                XCTAssertEqual(mine.startPosition, theirs["start_position"] as? Int, at)
                XCTAssertEqual(mine.endPosition, theirs["end_position"] as? Int, at)
                XCTAssertEqual(windows[k].sequenceIds, try XCTUnwrap(theirs["sequence_ids"] as? [Any]).map { $0 as? Int }, at)
                // Offsets of every token (question too); HF gives (0, 0) for the special ones.
                XCTAssertEqual(
                    windows[k].offsets.map { $0 ?? 0..<0 }, offsets(try XCTUnwrap(theirs["all_offsets"] as? [Any])).map { $0 ?? 0..<0 }, at)
                checked += 1
            }
            XCTAssertTrue(expected.contains { ($0["start_position"] as? Int) != 0 }, "some windows hold their answer")
            if maxLength < 384 { XCTAssertGreaterThan(expected.count, examples.count, "some contexts need several windows") }
        }
        XCTAssertEqual(checked, 85)
    }

    func testWordSpansAreThePreTokenizersWordsWithoutSpaces() throws {
        let tokenizer = try Self.tokenizer()
        let text = "Hello, São Paulo!  <mask> 张三"
        let spans = tokenizer.wordSpans(of: text)
        XCTAssertEqual(spans.map(\.text), ["Hello", ",", "São", "Paulo", "!", "<mask>", "张三"])
        let scalars = Array(text.unicodeScalars)
        for span in spans {
            XCTAssertEqual(String(String.UnicodeScalarView(scalars[span.start..<span.end])), span.text)
        }
        // Each word encoded on its own gets its prefix space, as a word of running text after a space has it.
        let words = tokenizer.encodeWords(["Hello", "Paulo"], maxLength: nil).encoding.inputIds
        XCTAssertEqual(Array(words.dropFirst().dropLast()), tokenizer.encodeIds(" Hello Paulo"))
    }
}

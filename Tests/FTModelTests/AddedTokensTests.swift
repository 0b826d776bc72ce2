import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Vocabulary extension (`add_tokens`) against transformers: all-MiniLM-L6-v2's tokenizer with
/// `tokenizer.add_tokens(ADDED)` gives the committed ids and offsets on 40 Chinese + English texts
/// and the ids and `word_ids()` of word lists (scripts/reference/make_added_tokens_reference.py,
/// fixture `added_tokens_tokenizer.json`); the tokenizer files fttrain writes load back with the
/// same tokens; bad token lists fail clearly.
final class AddedTokensTests: XCTestCase {
    struct Fixture: Decodable {
        struct Text: Decodable {
            let text: String
            let ids: [Int32]
            let offsets: [[Int]]
        }
        struct Words: Decodable {
            let words: [String]
            let ids: [Int32]
            let word_ids: [Int?]
        }
        let format_version: String
        let base_size: Int
        let size: Int
        let added: [String]
        let added_vocab: [String: Int]
        let texts: [Text]
        let words: [Words]
    }

    static func fixture() throws -> Fixture {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: "added_tokens_tokenizer", withExtension: "json", subdirectory: "Fixtures"),
            "added_tokens_tokenizer.json missing from the test bundle")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.format_version, "1", "fixture format changed: regenerate it and update the test")
        return fixture
    }

    static func extended() throws -> (BertTokenizer, Fixture, known: [(token: String, id: Int32)]) {
        let fixture = try fixture()
        let base = try BertTokenizer.load(modelDirectory: try TestAssets.realModelDirectory())
        XCTAssertEqual(base.vocabularySize, fixture.base_size)
        let (tokenizer, known) = try base.adding(fixture.added, source: "test")
        return (tokenizer, fixture, known)
    }

    /// Checks `tokenizer` on every text and word list of the fixture.
    func checkAgainstFixture(_ tokenizer: BertTokenizer, _ fixture: Fixture, _ label: String, line: UInt = #line) {
        XCTAssertEqual(tokenizer.vocabularySize, fixture.size, "\(label): len(tokenizer)", line: line)
        for (content, id) in fixture.added_vocab {
            XCTAssertEqual(tokenizer.addedTokens.first { $0.content == content }?.id, Int32(id), "\(label): id of \(content)", line: line)
        }
        for t in fixture.texts {
            XCTAssertEqual(tokenizer.encode(t.text).inputIds, t.ids, "\(label): ids of \"\(t.text)\"", line: line)
            let o = tokenizer.encodeWithOffsets(t.text)
            XCTAssertEqual([tokenizer.clsTokenId] + o.ids + [tokenizer.sepTokenId], t.ids, "\(label): offset ids of \"\(t.text)\"", line: line)
            let offsets = [[0, 0]] + zip(o.starts, o.ends).map { [$0, $1] } + [[0, 0]]
            XCTAssertEqual(offsets, t.offsets, "\(label): offsets of \"\(t.text)\"", line: line)
        }
        for w in fixture.words {
            let e = tokenizer.encodeWords(w.words)
            XCTAssertEqual(e.encoding.inputIds, w.ids, "\(label): ids of \(w.words)", line: line)
            XCTAssertEqual(e.wordIds, w.word_ids, "\(label): word ids of \(w.words)", line: line)
        }
    }

    func testIdsOffsetsAndWordIdsMatchTransformers() throws {
        let (tokenizer, fixture, known) = try Self.extended()
        XCTAssertEqual(fixture.texts.count, 40)
        XCTAssertEqual(known.map(\.token), ["hello"], "the one token MiniLM already has")
        XCTAssertEqual(known.first?.id, 7592, "keeps its vocabulary id")
        XCTAssertEqual(tokenizer.vocabulary[fixture.base_size], "新词", "new ids follow the vocabulary in order")
        checkAgainstFixture(tokenizer, fixture, "added in memory")
    }

    /// The files fttrain writes (tokenizer.json, tokenizer_config.json's added_tokens_decoder,
    /// added_tokens.json) each bring the tokens back: every source alone gives the fixture's ids.
    func testWrittenFilesLoadBackWithTheSameTokens() throws {
        let (tokenizer, fixture, _) = try Self.extended()
        let base = try TestAssets.realModelDirectory()
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("added-tokens-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: directory) }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        try WordPieceAddedTokenFiles.write(tokenizer: tokenizer, base: base, to: directory)
        for file in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json"] {
            XCTAssertTrue(fm.fileExists(atPath: directory.appendingPathComponent(file).path), file)
        }
        let config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json"))) as? [String: Any])
        let decoder = try XCTUnwrap(config["added_tokens_decoder"] as? [String: [String: Any]])
        XCTAssertEqual(decoder["\(fixture.base_size)"]?["content"] as? String, "新词")
        XCTAssertEqual(decoder["\(fixture.base_size)"]?["normalized"] as? Bool, true)
        XCTAssertEqual(decoder["101"]?["special"] as? Bool, true)
        XCTAssertEqual(config["do_lower_case"] as? Bool, true, "the base's settings are kept")
        checkAgainstFixture(try BertTokenizer.load(modelDirectory: directory), fixture, "tokenizer.json")
        try fm.removeItem(at: directory.appendingPathComponent("tokenizer.json"))
        checkAgainstFixture(try BertTokenizer.load(modelDirectory: directory), fixture, "added_tokens_decoder")
        // added_tokens.json alone has no entry for "hello" (it has no new id): every other text agrees.
        var settings = config
        settings.removeValue(forKey: "added_tokens_decoder")
        try JSONSerialization.data(withJSONObject: settings).write(to: directory.appendingPathComponent("tokenizer_config.json"))
        let old = try BertTokenizer.load(modelDirectory: directory)
        XCTAssertEqual(old.vocabularySize, fixture.size)
        XCTAssertEqual(old.encode("我在北京大学学习新词").inputIds, fixture.texts[0].ids)
    }

    func testBadTokenListsFailClearly() throws {
        let base = try BertTokenizer.load(modelDirectory: try TestAssets.realModelDirectory())
        XCTAssertThrowsError(try base.adding(["新词", ""], source: "cfg.yaml")) {
            XCTAssertEqual("\($0)", "add_tokens (cfg.yaml): token 2 is empty")
        }
        XCTAssertThrowsError(try base.adding(["新词", " "], source: "cfg.yaml"))
        XCTAssertThrowsError(try base.adding(["新词", "鑫", "新词"], source: "tokens.txt")) {
            XCTAssertEqual("\($0)", "add_tokens (tokens.txt): \"新词\" is listed twice")
        }
        // A token of the vocabulary keeps its id; adding the same tokens twice adds nothing more.
        let (once, known) = try base.adding(["the", "鑫"], source: "t")
        XCTAssertEqual(known.map(\.id), [base.convertTokensToIds(["the"])[0]])
        XCTAssertEqual(once.vocabularySize, base.vocabularySize + 1)
        let (twice, again) = try once.adding(["鑫"], source: "t")
        XCTAssertEqual(twice.vocabularySize, once.vocabularySize)
        XCTAssertEqual(again.map(\.token), ["鑫"])
        // A token file: one per line, CRLF and blank lines tolerated.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("新词\r\n\n北京大学\n new york\n".utf8).write(to: file)
        XCTAssertEqual(try BertTokenizer.readTokenList(path: file.path), ["新词", "北京大学", " new york"])
        XCTAssertThrowsError(try BertTokenizer.readTokenList(path: file.path + ".missing")) {
            XCTAssertTrue("\($0)".contains(file.path + ".missing"), "\($0)")
        }
    }

    /// Token classification on raw text: an added token is one word with its characters' offsets,
    /// and the word list of a text encodes to the same ids as the text.
    func testWordSpansKeepAnAddedTokenWhole() throws {
        let (tokenizer, _, _) = try Self.extended()
        let text = "我在北京大学学习新词, Fttrain!"
        let spans = tokenizer.wordSpans(of: text)
        XCTAssertEqual(spans.map(\.text), ["我", "在", "北京大学", "学", "习", "新词", ",", "Fttrain", "!"])
        XCTAssertEqual(spans[2].start, 2)
        XCTAssertEqual(spans[2].end, 6)
        XCTAssertEqual(spans[7].start, 12)
        XCTAssertEqual(spans[7].end, 19)
        let words = tokenizer.encodeWords(spans.map(\.text))
        XCTAssertEqual(words.encoding.inputIds, tokenizer.encode(text).inputIds)
        XCTAssertEqual(words.wordIds.compactMap { $0 }, Array(0..<spans.count), "one token per word here")
    }
}

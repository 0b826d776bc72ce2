import Foundation
import XCTest
@testable import FTModel

/// Tests of the BERT WordPiece tokenizer: unit tests with a tiny hand-written vocabulary, and a
/// fixture test against the real all-MiniLM-L6-v2 vocabulary whose expected ids come from Hugging
/// Face's fast tokenizer (`scripts/reference/make_tokenizer_fixture.py`).
final class TokenizerTests: XCTestCase {

    // MARK: - Tiny vocabulary

    static let tinyVocabulary: [String] = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "un", "##aff", "##able", "aff", "able", "want", "##want", "##ed", "runn", "run", "##ing", "##n",
        ",", ".", "!", "'", "[", "]", "a", "##a", "b", "##b", "e", "##e", "##\u{301}", "i", "##i", "##\u{307}",
        "中", "国", "cafe", "hello", "world", "the", "ο", "##σ", "##ς", "mask", "x", "##y", "y", "s",
    ]

    func tiny(doLowerCase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseChars: Bool = true) throws -> BertTokenizer {
        try BertTokenizer(
            vocabulary: Self.tinyVocabulary, doLowerCase: doLowerCase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChineseChars)
    }

    func testSpecialIdsAndVocabulary() throws {
        let t = try tiny()
        XCTAssertEqual(t.padTokenId, 0)
        XCTAssertEqual(t.unkTokenId, 1)
        XCTAssertEqual(t.clsTokenId, 2)
        XCTAssertEqual(t.sepTokenId, 3)
        XCTAssertEqual(t.maskTokenId, 4)
        XCTAssertEqual(t.vocabularySize, Self.tinyVocabulary.count)
        XCTAssertEqual(t.convertTokensToIds(["un", "##aff", "nope"]), [5, 6, 1])
        XCTAssertEqual(t.convertIdsToTokens([5, 6, 9999]), ["un", "##aff", "[UNK]"])
    }

    func testLongestMatchFirstWithContinuation() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(t.tokenize("unwanted"), ["un", "##want", "##ed"])
        // "runn" is longer than "run", so it wins even though "##ning" would also be possible.
        XCTAssertEqual(t.tokenize("running"), ["runn", "##ing"])
        XCTAssertEqual(t.tokenize("aff able"), ["aff", "able"])
        XCTAssertEqual(t.tokenize(""), [])
        XCTAssertEqual(t.tokenize(" \t\n "), [])
    }

    func testUnknownWords() throws {
        let t = try tiny()
        // A word whose pieces cannot all be matched is ONE [UNK], even if a prefix matched.
        XCTAssertEqual(t.tokenize("unz"), ["[UNK]"])
        XCTAssertEqual(t.tokenize("zzz hello"), ["[UNK]", "hello"])
        XCTAssertEqual(t.encode("unz hello").inputIds, [2, 1, 36, 3])
    }

    func testMaxInputCharsPerWord() throws {
        let t = try tiny()
        let hundred = String(repeating: "a", count: 100)
        XCTAssertEqual(t.tokenize(hundred), ["a"] + Array(repeating: "##a", count: 99))
        XCTAssertEqual(t.tokenize(hundred + "a"), ["[UNK]"])
        XCTAssertEqual(t.tokenize(hundred + "a b"), ["[UNK]", "b"])
        // The limit counts Unicode scalars AFTER normalization: 60 "é" written decomposed are 120 scalars
        // in the input but 60 after accent stripping.
        XCTAssertEqual(t.tokenize(String(repeating: "e\u{301}", count: 60)).count, 60)
        // Without accent stripping the combining accents stay: "é" (decomposed) x 50 = 100 scalars but only
        // 50 Characters, fine; 101 scalars (51 Characters) is too long, as HF counts code points.
        let noStrip = try tiny(stripAccents: false)
        let fifty = String(repeating: "e\u{301}", count: 50)
        XCTAssertEqual(noStrip.tokenize(fifty).count, 100)
        XCTAssertEqual(noStrip.tokenize(fifty + "e"), ["[UNK]"])
        XCTAssertEqual((fifty + "e").count, 51)  // Characters: far below 100
    }

    func testPunctuationSplit() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("hello,world!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(t.tokenize("a.b"), ["a", ".", "b"])
        XCTAssertEqual(t.tokenize("!!!"), ["!", "!", "!"])
        XCTAssertEqual(t.tokenize("x'y"), ["x", "'", "y"])
        // ASCII symbols like $ + < = > ^ ` | ~ are punctuation for BERT; not in this vocabulary.
        XCTAssertEqual(t.tokenize("a$b"), ["a", "[UNK]", "b"])
        // U+2260 ≠ becomes "=" + U+0338 after NFD; the mark is stripped and "=" is punctuation.
        XCTAssertEqual(t.tokenize("a≠b"), ["a", "[UNK]", "b"])
    }

    func testChineseCharacters() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("中国"), ["中", "国"])
        XCTAssertEqual(t.tokenize("hello中国world"), ["hello", "中", "国", "world"])
        let noCJK = try tiny(tokenizeChineseChars: false)
        XCTAssertEqual(noCJK.tokenize("中国"), ["[UNK]"])
        XCTAssertTrue(BasicTokenizer.isChineseCharacter(0x4E00))
        XCTAssertTrue(BasicTokenizer.isChineseCharacter(0x2F800))
        XCTAssertFalse(BasicTokenizer.isChineseCharacter(0xAC00))  // Hangul
        XCTAssertFalse(BasicTokenizer.isChineseCharacter(0x3042))  // Hiragana
        // The fast tokenizer's ranges skip U+2B820...U+2B91F (the python tokenizer includes them).
        XCTAssertTrue(BasicTokenizer.isChineseCharacter(0x2B81F))
        XCTAssertFalse(BasicTokenizer.isChineseCharacter(0x2B820))
        XCTAssertFalse(BasicTokenizer.isChineseCharacter(0x2B91F))
        XCTAssertTrue(BasicTokenizer.isChineseCharacter(0x2B920))
    }

    func testAccentsAndCase() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("Café"), ["cafe"])
        XCTAssertEqual(t.tokenize("CAFE\u{301}"), ["cafe"])
        XCTAssertEqual(t.tokenize("HELLO World"), ["hello", "world"])
        // İ (U+0130): NFD gives I + U+0307, the mark is stripped, then lower-cased.
        XCTAssertEqual(t.tokenize("İ"), ["i"])
        // Final sigma: per-code-point lowercase like Rust's char::to_lowercase, so Σ → σ everywhere.
        XCTAssertEqual(t.tokenize("ΟΣ"), ["ο", "##σ"])

        let noStrip = try tiny(stripAccents: false)
        XCTAssertEqual(noStrip.tokenize("Café"), ["[UNK]"])
        XCTAssertEqual(noStrip.tokenize("e\u{301}"), ["e", "##\u{301}"])
        // Rust to_lowercase('İ') = "i\u{307}".
        XCTAssertEqual(noStrip.tokenize("İ"), ["i", "##\u{307}"])

        // Cased: strip_accents unset follows lowercase, so nothing is changed.
        let cased = try tiny(doLowerCase: false)
        XCTAssertEqual(cased.tokenize("Hello hello"), ["[UNK]", "hello"])
        XCTAssertEqual(cased.tokenize("café"), ["[UNK]"])
        let casedStrip = try tiny(doLowerCase: false, stripAccents: true)
        XCTAssertEqual(casedStrip.tokenize("café"), ["cafe"])
    }

    func testCleaningAndWhitespace() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("hel\u{0}lo"), ["hello"])
        XCTAssertEqual(t.tokenize("hel\u{7}lo\u{FFFD}"), ["hello"])
        XCTAssertEqual(t.tokenize("hel\u{200B}lo"), ["hello"])  // zero-width space is Cf
        XCTAssertEqual(t.tokenize("hel\u{AD}lo"), ["hello"])  // soft hyphen is Cf
        XCTAssertEqual(t.tokenize("\u{FEFF}hello"), ["hello"])
        XCTAssertEqual(t.tokenize("hello\u{A0}world\u{3000}a\r\nb\u{2003}x"), ["hello", "world", "a", "b", "x"])
        XCTAssertEqual(t.tokenize("a\u{85}b"), ["a", "##b"])  // NEL is Cc: removed, not whitespace
        XCTAssertEqual(t.tokenize("a\u{B}b"), ["a", "##b"])  // vertical tab likewise
        // U+0890 is Cf in current Unicode, but not in the fast tokenizer's tables: it is kept.
        XCTAssertEqual(t.tokenize("a\u{890}b"), ["[UNK]"])
    }

    func testSpecialTokensInText() throws {
        let t = try tiny()
        XCTAssertEqual(t.tokenize("hello [MASK] world"), ["hello", "[MASK]", "world"])
        XCTAssertEqual(t.tokenize("a[MASK]b"), ["a", "[MASK]", "b"])
        XCTAssertEqual(t.tokenize("[[SEP]]"), ["[", "[SEP]", "]"])
        // Matching is case-sensitive and on the raw text.
        XCTAssertEqual(t.tokenize("[mask]"), ["[", "mask", "]"])
        XCTAssertEqual(t.tokenize("[MASK"), ["[", "mask"])
        XCTAssertEqual(t.encode("[CLS]").inputIds, [2, 2, 3])
    }

    func testEncodeSingleAndPair() throws {
        let t = try tiny()
        let single = t.encode("hello world")
        XCTAssertEqual(single.inputIds, [2, 36, 37, 3])
        XCTAssertEqual(single.tokenTypeIds, [0, 0, 0, 0])
        XCTAssertEqual(single.attentionMask, [1, 1, 1, 1])
        let pair = t.encode("hello", pair: "the world")
        XCTAssertEqual(pair.inputIds, [2, 36, 3, 38, 37, 3])
        XCTAssertEqual(pair.tokenTypeIds, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(pair.attentionMask, [1, 1, 1, 1, 1, 1])
        XCTAssertEqual(t.encode("").inputIds, [2, 3])
        XCTAssertEqual(t.encode("", pair: "").inputIds, [2, 3, 3])
        XCTAssertEqual(t.encode("", pair: "").tokenTypeIds, [0, 0, 1])
    }

    func testTruncationSingle() throws {
        let t = try tiny()
        let text = "a b a b a b"
        XCTAssertEqual(t.encode(text, maxLength: 5).inputIds, [2, 23, 25, 23, 3])
        XCTAssertEqual(t.encode(text, maxLength: 8).inputIds.count, 8)
        XCTAssertEqual(t.encode(text, maxLength: 100).inputIds.count, 8)
        XCTAssertEqual(t.encode(text, maxLength: 2).inputIds, [2, 3])
        // Below the number of special tokens HF does not truncate at all.
        XCTAssertEqual(t.encode(text, maxLength: 1).inputIds.count, 8)
    }

    func testTruncationPairLongestFirst() throws {
        // Values checked against tokenizers 0.23 (see also the fixture cases with max_length).
        func lengths(_ a: Int, _ b: Int, _ m: Int) -> [Int] {
            let (x, y) = BertTokenizer.truncatedLengths(a, b, maxLength: m)
            return [x, y!]
        }
        XCTAssertEqual(lengths(10, 11, 4), [0, 1])
        XCTAssertEqual(lengths(10, 11, 5), [1, 1])
        XCTAssertEqual(lengths(10, 11, 8), [2, 3])  // equal-ish: the second gets the extra token
        XCTAssertEqual(lengths(10, 2, 6), [2, 1])
        XCTAssertEqual(lengths(2, 10, 6), [1, 2])
        XCTAssertEqual(lengths(10, 2, 7), [2, 2])
        XCTAssertEqual(lengths(10, 2, 12), [7, 2])
        XCTAssertEqual(lengths(6, 15, 12), [4, 5])  // the slow tokenizer gives 5 + 4
        XCTAssertEqual(lengths(10, 10, 3), [0, 0])
        XCTAssertEqual(lengths(10, 10, 2), [10, 10])  // below the number of specials: untouched
        XCTAssertEqual(lengths(3, 4, 10), [3, 4])
        XCTAssertEqual(BertTokenizer.truncatedLengths(10, nil, maxLength: 5).0, 3)

        let t = try tiny()
        let e = t.encode("a b a b a b", pair: "x y", maxLength: 6)
        XCTAssertEqual(e.inputIds, [2, 23, 25, 3, 43, 3])
        XCTAssertEqual(e.tokenTypeIds, [0, 0, 0, 0, 1, 1])
        XCTAssertLessThanOrEqual(t.encode("a b a b a b", pair: "a b a b a b", maxLength: 7).inputIds.count, 7)
    }

    func testPadBatch() throws {
        let t = try tiny()
        let e1 = t.encode("hello")
        let e2 = t.encode("hello", pair: "world")
        let batch = t.padBatch([e1, e2])
        XCTAssertEqual(batch.sequenceLength, 5)
        XCTAssertEqual(batch.inputIds, [2, 36, 3, 0, 0, 2, 36, 3, 37, 3])
        XCTAssertEqual(batch.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
        XCTAssertEqual(batch.attentionMask, [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
        let fixed = t.padBatch([e1], padTo: 6)
        XCTAssertEqual(fixed.sequenceLength, 6)
        XCTAssertEqual(fixed.inputIds, [2, 36, 3, 0, 0, 0])
        XCTAssertEqual(fixed.attentionMask, [1, 1, 1, 0, 0, 0])
        XCTAssertEqual(t.padBatch([e2], padTo: 2).sequenceLength, 5)  // never truncates
        XCTAssertEqual(t.padBatch([]).sequenceLength, 0)
    }

    // MARK: - Errors

    func testInitRejectsVocabularyWithoutSpecials() {
        XCTAssertThrowsError(try BertTokenizer(vocabulary: ["[PAD]", "[UNK]", "[SEP]", "a"])) { error in
            XCTAssertTrue("\(error)".contains("[CLS]"), "\(error)")
        }
        XCTAssertThrowsError(try BertTokenizer(vocabulary: []))
    }

    func testLoadErrorsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        XCTAssertThrowsError(try BertTokenizer.load(modelDirectory: dir)) { error in
            XCTAssertEqual(error as? TokenizerError, .vocabularyFileMissing(dir.appendingPathComponent("vocab.txt")))
            XCTAssertTrue("\(error)".contains("vocab.txt"), "\(error)")
        }
        XCTAssertThrowsError(try BertTokenizer.load(modelDirectory: dir.appendingPathComponent("nope"))) { error in
            XCTAssertTrue("\(error)".contains("nope"), "\(error)")
        }

        try "[PAD]\n[UNK]\n[SEP]\nhello\n".write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer.load(modelDirectory: dir)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("[CLS]") && message.contains("vocab.txt"), message)
        }

        // CRLF line ends, no final newline.
        try "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\nHello".write(
            to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let loaded = try BertTokenizer.load(modelDirectory: dir)
        XCTAssertEqual(loaded.vocabularySize, 6)
        XCTAssertEqual(loaded.tokenize("HELLO"), ["hello"])
        XCTAssertTrue(loaded.doLowerCase)

        try #"{"do_lower_case": false, "strip_accents": null}"#.write(
            to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let cased = try BertTokenizer.load(modelDirectory: dir)
        XCTAssertFalse(cased.doLowerCase)
        XCTAssertFalse(cased.stripAccents)
        XCTAssertEqual(cased.tokenize("Hello"), ["Hello"])

        try #"{"do_lower_case": "yes"}"#.write(
            to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer.load(modelDirectory: dir)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("tokenizer_config.json") && message.contains("do_lower_case"), message)
        }
        try "not json".write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer.load(modelDirectory: dir)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer_config.json"), "\(error)")
        }
    }

    // MARK: - Real vocabulary and the Hugging Face fixture

    /// `FTTRAIN_MODEL_DIR`, else `<package root>/.cache/models/all-MiniLM-L6-v2`. Fails (never skips)
    /// when the model is missing.
    func realModelDirectory(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path =
            ProcessInfo.processInfo.environment["FTTRAIN_MODEL_DIR"]
            ?? packageRoot.appendingPathComponent(".cache/models/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: path + "/vocab.txt") else {
            XCTFail(
                "Model directory with vocab.txt not found at \(path): run scripts/fetch_assets.sh "
                    + "(or set FTTRAIN_MODEL_DIR)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    struct Fixture: Decodable {
        struct Case: Decodable {
            var text: String
            var pair: String?
            var max_length: Int?
            var ids: [Int32]
            var token_type_ids: [Int32]
            var tokens: [String]
            var slow_agrees: Bool
        }
        var versions: [String: String]
        var num_cases: Int
        var num_slow_differs: Int
        var char_classes: [String: [[UInt32]]]
        var cases: [Case]
    }

    func loadFixture() throws -> Fixture {
        guard let url = Bundle.module.url(forResource: "tokenizer_cases", withExtension: "json", subdirectory: "Fixtures") else {
            XCTFail(
                "Fixtures/tokenizer_cases.json missing from the test bundle; regenerate it with "
                    + "scripts/reference/make_tokenizer_fixture.py")
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    static func escaped(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u.value {
            case 0x5C: out += "\\\\"
            case 0x22: out += "\\\""
            case 0x20...0x7E: out.unicodeScalars.append(u)
            default: out += "\\u{\(String(u.value, radix: 16, uppercase: true))}"
            }
        }
        return out + "\""
    }

    func testReferenceSentence() throws {
        let tokenizer = try BertTokenizer.load(modelDirectory: try realModelDirectory())
        XCTAssertEqual(tokenizer.vocabularySize, 30522)
        XCTAssertEqual([tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId], [0, 100, 101, 102])
        // assets.md reference.
        let e = tokenizer.encode("A man is eating food.")
        XCTAssertEqual(e.inputIds, [101, 1037, 2158, 2003, 5983, 2833, 1012, 102])
        XCTAssertEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(e.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(tokenizer.tokenize("A man is eating food."), ["a", "man", "is", "eating", "food", "."])
    }

    func testFixtureMatchesHuggingFace() throws {
        let tokenizer = try BertTokenizer.load(modelDirectory: try realModelDirectory())
        let fixture = try loadFixture()
        XCTAssertEqual(fixture.cases.count, fixture.num_cases)
        XCTAssertGreaterThan(fixture.cases.count, 300)
        var failures = 0
        for c in fixture.cases {
            let got = tokenizer.encode(c.text, pair: c.pair, maxLength: c.max_length)
            if got.inputIds != c.ids || got.tokenTypeIds != c.token_type_ids {
                failures += 1
                var what = "text \(Self.escaped(c.text))"
                if let p = c.pair { what += " pair \(Self.escaped(p))" }
                if let m = c.max_length { what += " max_length \(m)" }
                XCTFail(
                    """
                    Mismatch for \(what)
                      expected tokens \(c.tokens.map(Self.escaped))
                      got tokens      \(tokenizer.convertIdsToTokens(got.inputIds).map(Self.escaped))
                      expected ids \(c.ids) types \(c.token_type_ids)
                      got ids      \(got.inputIds) types \(got.tokenTypeIds)
                    """)
            }
            XCTAssertEqual(got.attentionMask, Array(repeating: 1, count: got.inputIds.count))
            if c.pair == nil && c.max_length == nil {
                XCTAssertEqual(
                    tokenizer.tokenize(c.text), Array(c.tokens.dropFirst().dropLast()),
                    "tokens of \(Self.escaped(c.text))")
            }
        }
        let differ = fixture.cases.filter { !$0.slow_agrees }.count
        print(
            "tokenizer fixture: \(fixture.cases.count) cases, \(failures) mismatches; "
                + "slow and fast HF tokenizers differ on \(differ) (versions \(fixture.versions))")
    }

    /// The generated tables in BasicTokenizer.swift must be those probed from the fast tokenizer.
    func testCharacterTablesMatchFixture() throws {
        let fixture = try loadFixture()
        let tables: [(String, [UInt32])] = [
            ("removed", BertCharacterTables.removed), ("whitespace", BertCharacterTables.whitespace),
            ("punctuation", BertCharacterTables.punctuation), ("nonspacing_mark", BertCharacterTables.nonspacingMark),
        ]
        for (name, table) in tables {
            let expected = fixture.char_classes[name]?.flatMap { $0 }
            XCTAssertEqual(table, expected, "\(name): regenerate with make_tokenizer_fixture.py --swift-tables")
        }
        // CJK ranges are not a generated table but must match the probed ones exactly.
        let chinese = try XCTUnwrap(fixture.char_classes["chinese"])
        var probed: [[UInt32]] = []
        var lo: UInt32? = nil
        for v in UInt32(0)...0x30000 {
            let inside = BasicTokenizer.isChineseCharacter(v)
            if inside, lo == nil { lo = v }
            if !inside, let l = lo {
                probed.append([l, v - 1])
                lo = nil
            }
        }
        XCTAssertEqual(probed, chinese)
        // The predicates agree with the tables everywhere (including the ASCII fast paths).
        for v in UInt32(0)..<0x3000 {
            XCTAssertEqual(BasicTokenizer.isPunctuation(v), BasicTokenizer.inRanges(v, BertCharacterTables.punctuation), "U+\(String(v, radix: 16))")
            XCTAssertEqual(BasicTokenizer.isWhitespace(v), BasicTokenizer.inRanges(v, BertCharacterTables.whitespace), "U+\(String(v, radix: 16))")
        }
    }

    /// Not a benchmark, just a guard against accidental quadratic behaviour.
    func testThroughput() throws {
        let tokenizer = try BertTokenizer.load(modelDirectory: try realModelDirectory())
        let sentences = (0..<5000).map { i in
            "Sentence number \(i): the quick brown fox jumps over the lazy dog, naïvely café-hopping in Zürich! 東京 \(i * 7)"
        }
        let start = Date()
        var total = 0
        for s in sentences { total += tokenizer.encode(s, maxLength: 128).inputIds.count }
        let elapsed = Date().timeIntervalSince(start)
        print("tokenized \(sentences.count) sentences (\(total) tokens) in \(String(format: "%.3f", elapsed)) s")
        XCTAssertLessThan(elapsed, 30)
    }
}

import FTCore
import Foundation
import TestSupport
import XCTest

@testable import FTModel

/// The byte-level BPE tokenizer against Hugging Face's: the real SmolLM2-135M-Instruct tokenizer on a
/// varied corpus, a tiny tokenizer trained by `tokenizers` (tokenizer.json loading), the chat template,
/// the writer and bad inputs. Expected values: `scripts/reference/make_bpe_fixture.py` →
/// `Fixtures/bpe/`.
final class ByteLevelBPETokenizerTests: XCTestCase {

    // MARK: - Fixtures

    struct Case: Decodable {
        var text: String
        var ids: [Int32]
        var ids_transformers_gguf: [Int32]?
        var decode: String
        var decode_skip_special: String
    }
    struct PartialDecode: Decodable {
        var ids: [Int32]
        var decode: String
    }
    struct Chat: Decodable {
        var messages: [ChatMessage]
        var add_generation_prompt: Bool
        var text: String
    }
    struct Meta: Decodable {
        var chat_template: String
        var chatml_template: String
        var vocab_size: Int
    }
    struct CorpusDigest: Decodable {
        var texts: Int
        var tokens: Int
        var ids_fnv1a64: String
    }
    struct SmolLM2Cases: Decodable {
        var meta: Meta
        var rotten_tomatoes: CorpusDigest
        var cases: [Case]
        var partial_decodes: [PartialDecode]
        var chats: [Chat]
        var chatml_chats: [Chat]
    }
    struct TinyCases: Decodable {
        var vocab_size: Int
        var cases: [Case]
    }

    static func fixtureURL(_ name: String) throws -> URL {
        guard let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            XCTFail("Fixtures missing from the test bundle")
            throw CocoaError(.fileNoSuchFile)
        }
        return base.appendingPathComponent("bpe").appendingPathComponent(name)
    }

    static func decodeFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: fixtureURL(name)))
    }

    nonisolated(unsafe) private static var cachedReal: ByteLevelBPETokenizer?

    /// The real SmolLM2-135M-Instruct tokenizer, from the GGUF of the asset cache (`TestAssets`).
    static func realTokenizer(file: StaticString = #filePath, line: UInt = #line) throws -> ByteLevelBPETokenizer {
        if let cachedReal { return cachedReal }
        let url = try TestAssets.requireSmolLM2GGUF(file: file, line: line)
        let t = try ByteLevelBPETokenizer(gguf: GGUFFile(url: url))
        cachedReal = t
        return t
    }

    // MARK: - Real SmolLM2 tokenizer

    func testRealTokenizerIdsEqualHuggingFace() throws {
        let t = try Self.realTokenizer()
        let fixture = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json")
        XCTAssertEqual(t.vocabularySize, fixture.meta.vocab_size)
        XCTAssertEqual(t.bosTokenId, 1)
        XCTAssertEqual(t.eosTokenId, 2)
        XCTAssertEqual(t.padTokenId, 2)
        XCTAssertEqual(t.unkTokenId, 0)
        XCTAssertFalse(t.addsBOS)
        XCTAssertEqual(t.preTokenizer, .digitsThenByteLevel)
        XCTAssertEqual(t.merges.count, 48_900)
        XCTAssertEqual(t.addedTokens.count, 17)
        XCTAssertTrue(t.addedTokens.allSatisfy(\.special))
        XCTAssertEqual(
            t.encode("Hello world, 你好! 123 tokens."), [19556, 905, 28, 216, 18645, 250, 48392, 138, 17, 216, 33, 34, 35, 17837, 30])
        var mismatches = 0
        for c in fixture.cases {
            let ids = t.encode(c.text)
            if ids != c.ids {
                mismatches += 1
                XCTFail("ids differ for \(c.text.debugDescription.prefix(80)): \(ids) vs HF \(c.ids)")
            }
            XCTAssertEqual(t.decode(c.ids, skipSpecialTokens: false), c.decode, "decode of \(c.text.debugDescription.prefix(60))")
            XCTAssertEqual(t.decode(c.ids, skipSpecialTokens: true), c.decode_skip_special)
            XCTAssertEqual(t.decode(ids, skipSpecialTokens: false), c.text, "round trip of \(c.text.debugDescription.prefix(60))")
        }
        XCTAssertGreaterThan(fixture.cases.count, 150)
        XCTAssertEqual(mismatches, 0)
        for p in fixture.partial_decodes {
            XCTAssertEqual(t.decode(p.ids, skipSpecialTokens: false), p.decode, "partial decode of \(p.ids)")
        }
    }

    /// Encoding from many threads at once (the word cache is shared) gives the same ids.
    func testConcurrentEncodingGivesTheSameIds() throws {
        let t = try Self.realTokenizer().with(preTokenizer: .digitsThenByteLevel)  // a fresh, empty cache
        let cases = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json").cases
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: cases.count * 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: cases.count * 4) { i in
            results[i] = t.encode(cases[i % cases.count].text)
        }
        for i in 0..<(cases.count * 4) { XCTAssertEqual(results[i], cases[i % cases.count].ids) }
        XCTAssertEqual(t.id(of: "Ġthe"), t.encode(" the").first)
        XCTAssertEqual(t.tokens(t.encode("Hello world")), ["Hello", "Ġworld"])
    }

    /// transformers' own GGUF tokenizer (plain ByteLevel pre-tokenizer) gives other ids on a few texts;
    /// fttrain's `.byteLevel` pre-tokenizer reproduces those too.
    func testPlainByteLevelPreTokenizerEqualsTransformersGGUFTokenizer() throws {
        let t = try Self.realTokenizer().with(preTokenizer: .byteLevel)
        let fixture = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json")
        var differing = 0
        for c in fixture.cases {
            if c.ids_transformers_gguf != nil { differing += 1 }
            XCTAssertEqual(t.encode(c.text), c.ids_transformers_gguf ?? c.ids, "\(c.text.debugDescription.prefix(60))")
        }
        XCTAssertGreaterThan(differing, 0)
    }

    func testChatTemplateRendersAsTransformers() throws {
        let t = try Self.realTokenizer()
        let fixture = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json")
        XCTAssertEqual(
            try KnownChatTemplate(recognising: fixture.meta.chat_template),
            .chatMLWithDefaultSystem("You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        for chat in fixture.chats {
            XCTAssertEqual(try t.applyChatTemplate(chat.messages, addGenerationPrompt: chat.add_generation_prompt), chat.text)
        }
        let chatML = try KnownChatTemplate(recognising: fixture.meta.chatml_template)
        XCTAssertEqual(chatML, .chatML)
        for chat in fixture.chatml_chats {
            XCTAssertEqual(try chatML.render(chat.messages, addGenerationPrompt: chat.add_generation_prompt), chat.text)
        }
        // The rendered prompt's special tokens are recognised when encoded.
        let prompt = try t.applyChatTemplate([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        let ids = t.encode(prompt)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 3)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 2)
    }

    func testChatTemplateRefusesUnknownTemplatesAndRoles() throws {
        let t = try Self.realTokenizer()
        XCTAssertThrowsError(try t.applyChatTemplate([ChatMessage(role: "tool", content: "x")], addGenerationPrompt: false)) {
            XCTAssertEqual($0 as? BPETokenizerError, .unsupportedRole("tool"))
        }
        let llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' %}\n{% endfor %}"
        XCTAssertThrowsError(try KnownChatTemplate(recognising: llama3)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("{% set loop_messages = messages %}"), text)
            XCTAssertTrue(text.contains("ChatML"), text)
        }
        // A changed literal (a space inside a rendered string) is not the same template.
        let altered = KnownChatTemplate.chatML.jinja.replacingOccurrences(of: "'<|im_end|>'", with: "' <|im_end|>'")
        XCTAssertThrowsError(try KnownChatTemplate(recognising: altered))
        // Whitespace between Jinja tags and "\n" escapes are normalised away.
        let spaced = KnownChatTemplate.chatML.jinja.replacingOccurrences(of: "%}", with: "%}\n  ").replacingOccurrences(of: "\n'", with: "\\n'")
        XCTAssertEqual(try KnownChatTemplate(recognising: spaced), .chatML)
        let noTemplate = try t.with(chatTemplate: nil)
        XCTAssertThrowsError(try noTemplate.applyChatTemplate([], addGenerationPrompt: true)) {
            XCTAssertEqual($0 as? BPETokenizerError, .noChatTemplate)
        }
    }

    func testWrittenTokenizerLoadsBackWithEqualIds() throws {
        let t = try Self.realTokenizer()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-writer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try t.write(to: dir)
        let back = try ByteLevelBPETokenizer.load(directory: dir)
        XCTAssertEqual(back.vocabulary, t.vocabulary)
        XCTAssertEqual(back.merges.count, t.merges.count)
        XCTAssertTrue(zip(back.merges, t.merges).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        XCTAssertEqual(back.addedTokens, t.addedTokens)
        XCTAssertEqual(back.preTokenizer, .digitsThenByteLevel)
        XCTAssertEqual(back.bosTokenId, t.bosTokenId)
        XCTAssertEqual(back.eosTokenId, t.eosTokenId)
        XCTAssertEqual(back.padTokenId, t.padTokenId)
        XCTAssertEqual(back.addsBOS, t.addsBOS)
        XCTAssertEqual(back.chatTemplate, t.chatTemplate)
        let fixture = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json")
        for c in fixture.cases { XCTAssertEqual(back.encode(c.text), c.ids) }
        if let keep = ProcessInfo.processInfo.environment["FTTRAIN_BPE_WRITE_DIR"] {  // for the fixture script's --check-written
            try t.write(to: URL(fileURLWithPath: keep))
        }
    }

    // MARK: - Tiny tokenizer trained by `tokenizers` (tokenizer.json loading)

    func testTinyTokenizerFromTokenizerJSONEqualsHuggingFace() throws {
        let t = try ByteLevelBPETokenizer.load(directory: Self.fixtureURL("tiny"))
        let fixture = try Self.decodeFixture(TinyCases.self, "tiny_cases.json")
        XCTAssertEqual(t.vocabularySize, fixture.vocab_size)
        XCTAssertEqual(t.preTokenizer, .byteLevel)
        XCTAssertTrue(t.addsBOS)
        XCTAssertEqual(t.bosTokenId, 0)
        XCTAssertEqual(t.eosTokenId, 2)
        XCTAssertEqual(t.addedTokens.map(\.special), [true, true, true, false, true, true])
        XCTAssertEqual(t.addedTokens.map(\.lstrip), [false, false, false, false, true, false])
        XCTAssertEqual(t.addedTokens.map(\.rstrip), [false, false, false, false, false, true])
        for c in fixture.cases {
            XCTAssertEqual(t.encode(c.text), c.ids, "\(c.text.debugDescription.prefix(60))")
            XCTAssertEqual(t.decode(c.ids, skipSpecialTokens: false), c.decode)
            XCTAssertEqual(t.decode(c.ids, skipSpecialTokens: true), c.decode_skip_special)
        }
        XCTAssertEqual(
            try t.applyChatTemplate([ChatMessage(role: "user", content: "x")], addGenerationPrompt: false), "<|im_start|>user\nx<|im_end|>\n")
        // Written and read back (merges as pairs rather than the fixture's "a b" strings).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-tiny-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try t.write(to: dir)
        let back = try ByteLevelBPETokenizer.load(directory: dir)
        XCTAssertTrue(back.addsBOS)
        for c in fixture.cases { XCTAssertEqual(back.encode(c.text), c.ids) }
    }

    // MARK: - Unicode classes

    /// `\p{L}`, `\p{N}`, `\s` of HF's regex and `is_numeric` of its Digits step, on every code point.
    func testScalarClassesEqualHuggingFaceOnEveryCodePoint() throws {
        struct Classes: Decodable {
            var letter: [[UInt32]]
            var number: [[UInt32]]
            var whitespace: [[UInt32]]
            var digits_numeric: [[UInt32]]
        }
        let c = try Self.decodeFixture(Classes.self, "unicode_classes.json")
        var expected = [ScalarClass](repeating: .other, count: 0x110000)
        var numeric = [Bool](repeating: false, count: 0x110000)
        for (ranges, cls) in [(c.letter, ScalarClass.letter), (c.number, .number), (c.whitespace, .whitespace)] {
            for r in ranges { for v in r[0]...r[1] { expected[Int(v)] = cls } }
        }
        for r in c.digits_numeric { for v in r[0]...r[1] { numeric[Int(v)] = true } }
        var wrong: [String] = []
        var wrongNumeric: [String] = []
        for v in 0..<UInt32(0x110000) {
            guard let s = Unicode.Scalar(v) else { continue }
            let got = ScalarClass.of(s)
            if got != expected[Int(v)] { wrong.append(String(format: "U+%04X %@≠%@", v, "\(got)", "\(expected[Int(v)])")) }
            if ScalarClass.isNumeric(s) != numeric[Int(v)] { wrongNumeric.append(String(format: "U+%04X", v)) }
        }
        XCTAssertEqual(wrong.count, 0, "classes differ: \(wrong.prefix(40))")
        XCTAssertEqual(wrongNumeric.count, 0, "Digits' is_numeric differs: \(wrongNumeric.prefix(40))")
    }

    // MARK: - GGUF

    func testGGUFMetadataWrittenAndReadBack() throws {
        let t = try Self.realTokenizer()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        var writer = GGUFWriter()
        writer.add(key: "general.architecture", .string("llama"))
        for (key, value) in t.ggufMetadata() { writer.add(key: key, value) }
        try writer.write(to: url)
        let back = try ByteLevelBPETokenizer(gguf: GGUFFile(url: url))
        XCTAssertEqual(back.vocabulary, t.vocabulary)
        XCTAssertTrue(zip(back.merges, t.merges).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
        XCTAssertEqual(back.merges.count, t.merges.count)
        XCTAssertEqual(back.addedTokens, t.addedTokens)
        XCTAssertEqual(back.preTokenizer, t.preTokenizer)
        XCTAssertEqual(back.bosTokenId, t.bosTokenId)
        XCTAssertEqual(back.eosTokenId, t.eosTokenId)
        XCTAssertEqual(back.padTokenId, t.padTokenId)
        XCTAssertEqual(back.unkTokenId, t.unkTokenId)
        XCTAssertEqual(back.addsBOS, t.addsBOS)
        XCTAssertEqual(back.chatTemplate, t.chatTemplate)
        let fixture = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json")
        for c in fixture.cases.prefix(100) { XCTAssertEqual(back.encode(c.text), c.ids) }
        // load(model:) picks the GGUF reader for a .gguf path and tokenizer.json for a directory.
        XCTAssertEqual(try ByteLevelBPETokenizer.load(model: url).vocabulary, t.vocabulary)
        XCTAssertEqual(try ByteLevelBPETokenizer.load(model: Self.fixtureURL("tiny")).vocabularySize, 303)
    }

    func testBadGGUFTokenizersAreRefusedNamingTheKey() throws {
        let tiny = try ByteLevelBPETokenizer.load(directory: Self.fixtureURL("tiny"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-bad-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        func expectError(_ contains: [String], change: (inout [String: GGUFValue]) -> Void, line: UInt = #line) throws {
            var writer = GGUFWriter()
            var values: [String: GGUFValue] = [:]
            let pairs = tiny.ggufMetadata()
            for (key, value) in pairs { values[key] = value }
            change(&values)
            for (key, _) in pairs { if let v = values[key] { writer.add(key: key, v) } }
            for (key, v) in values where !pairs.contains(where: { $0.key == key }) { writer.add(key: key, v) }
            try writer.write(to: url)
            XCTAssertThrowsError(try ByteLevelBPETokenizer(gguf: GGUFFile(url: url)), line: line) { error in
                let text = "\(error)"
                for c in contains + [url.path] { XCTAssertTrue(text.contains(c), "\(text) lacks \(c)", line: line) }
            }
        }
        try expectError(["llama-bpe", "tokenizer.ggml.pre"]) { $0["tokenizer.ggml.pre"] = .string("llama-bpe") }
        try expectError(["tokenizer.ggml.pre"]) { $0["tokenizer.ggml.pre"] = nil }
        try expectError(["\"default\"", "tokenizer.ggml.pre"]) { $0["tokenizer.ggml.pre"] = .string("default") }
        try expectError(["tokenizer.ggml.model", "llama"]) { $0["tokenizer.ggml.model"] = .string("llama") }
        try expectError(["tokenizer.ggml.merges", "zzz"]) { $0["tokenizer.ggml.merges"] = .array([.string("Ġ zzz")]) }
        try expectError(["tokenizer.ggml.eos_token_id"]) { $0["tokenizer.ggml.eos_token_id"] = nil }
        try expectError(["tokenizer.ggml.eos_token_id", "9999"]) { $0["tokenizer.ggml.eos_token_id"] = .uint32(9999) }
        try expectError(["tokenizer.ggml.tokens"]) { $0["tokenizer.ggml.tokens"] = nil }
        try expectError(["tokenizer.ggml.token_type"]) { $0["tokenizer.ggml.token_type"] = .array([.int32(1)]) }
        try expectError(["tokenizer.chat_template"]) { $0["tokenizer.chat_template"] = .uint32(3) }
    }

    // MARK: - Bad inputs

    func testBadFilesAreRefusedNamingTheProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try Data(contentsOf: Self.fixtureURL("tiny/tokenizer.json"))
        let config = try Data(contentsOf: Self.fixtureURL("tiny/tokenizer_config.json"))
        let json = dir.appendingPathComponent("tokenizer.json")
        let cfg = dir.appendingPathComponent("tokenizer_config.json")
        try config.write(to: cfg)

        func expectError(_ contains: [String], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try ByteLevelBPETokenizer.load(tokenizerJSON: json, tokenizerConfig: cfg), file: file, line: line) { error in
                let text = "\(error)"
                for c in contains { XCTAssertTrue(text.contains(c), "\(text) lacks \(c)", file: file, line: line) }
            }
        }
        func mutate(_ change: (inout [String: Any]) -> Void) throws {
            var root = try JSONSerialization.jsonObject(with: good) as! [String: Any]
            change(&root)
            try JSONSerialization.data(withJSONObject: root).write(to: json)
        }

        expectError([json.path, "missing"])  // no tokenizer.json yet
        try Data("{\"model\": [".utf8).write(to: json)
        expectError([json.path, "not valid JSON"])
        try mutate { root in
            var model = root["model"] as! [String: Any]
            var merges = model["merges"] as! [Any]
            merges[3] = "Ġ zzzunknown"
            model["merges"] = merges
            root["model"] = model
        }
        expectError([json.path, "merge 3", "zzzunknown"])
        try mutate { root in root["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"] }
        expectError([json.path, "Metaspace"])
        try mutate { root in
            root["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Split"], ["type": "ByteLevel"]]]
        }
        expectError([json.path, "Sequence[Split, ByteLevel]"])
        try mutate { root in root["model"] = ["type": "WordPiece"] }
        expectError([json.path, "model.type"])
        try mutate { root in root["normalizer"] = ["type": "NFC"] }
        expectError([json.path, "normalizer NFC"])
        try good.write(to: json)
        try Data("{\"eos_token\": \"<|nope|>\"}".utf8).write(to: cfg)
        expectError([cfg.path, "eos_token", "<|nope|>"])
        try Data("{\"bos_token\": \"<|im_start|>\"}".utf8).write(to: cfg)
        expectError([cfg.path, "eos_token"])
    }

    // MARK: - Speed

    /// Encodes the 13,905 Rotten Tomatoes texts and reports the time: every id equals HF's (a digest of
    /// them all), each text decodes back to itself.
    func testRottenTomatoesEncodeSpeedAndRoundTrip() throws {
        let t = try Self.realTokenizer()
        let path = TestAssets.packageRoot.appendingPathComponent(".cache/data/rotten_tomatoes/rotten_tomatoes.csv").path
        let altPath = ProcessInfo.processInfo.environment["FTTRAIN_ROTTEN_TOMATOES_CSV"] ?? path
        guard let data = FileManager.default.contents(atPath: altPath) else {
            XCTFail("Rotten Tomatoes not found at \(altPath): run scripts/fetch_assets.sh")
            return
        }
        let texts = Self.csvColumn(String(decoding: data, as: UTF8.self), named: "text")
        XCTAssertEqual(texts.count, 13_905)
        let start = Date()
        var tokens = 0
        var encoded: [[Int32]] = []
        encoded.reserveCapacity(texts.count)
        for text in texts {
            let ids = t.encode(text)
            tokens += ids.count
            encoded.append(ids)
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "ByteLevelBPE: %d Rotten Tomatoes texts, %d tokens encoded in %.3f s", texts.count, tokens, seconds))
        let digest = try Self.decodeFixture(SmolLM2Cases.self, "smollm2_cases.json").rotten_tomatoes
        XCTAssertEqual(texts.count, digest.texts)
        XCTAssertEqual(tokens, digest.tokens)
        XCTAssertEqual(String(format: "%016llx", Self.fnv1a(encoded)), digest.ids_fnv1a64)
        for (text, ids) in zip(texts, encoded) where t.decode(ids, skipSpecialTokens: false) != text {
            XCTFail("round trip differs for \(text.debugDescription.prefix(80))")
        }
    }

    /// FNV-1a 64 over every id (4 bytes little-endian) of every text, 0xFFFFFFFF after each text
    /// (as the fixture script computes it).
    static func fnv1a(_ encodings: [[Int32]]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for ids in encodings {
            for v in ids.map({ UInt32(bitPattern: $0) }) + [0xFFFF_FFFF] {
                for k in 0..<4 {
                    h ^= UInt64((v >> (8 * UInt32(k))) & 0xFF)
                    h = h &* 0x100_0000_01B3
                }
            }
        }
        return h
    }

    /// One column of a CSV with a header row (RFC 4180 quoting).
    static func csvColumn(_ text: String, named name: String) -> [String] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            quoted = false
                            pending = n
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r" { if let n = it.next(), n != "\n" { pending = n } }
                row.append(field)
                field = ""
                rows.append(row)
                row = []
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        guard let header = rows.first, let column = header.firstIndex(of: name) else { return [] }
        return rows.dropFirst().compactMap { $0.count > column ? $0[column] : nil }
    }
}

import FTModel
import Foundation
import XCTest

/// The Unigram (SentencePiece) `tokenizer.json` tokenizer against Hugging Face (tokenizers 0.23,
/// transformers 5), from scripts/reference/make_unigram_reference.py: ids, token types and
/// character offsets of ~50 texts (Chinese, accents and combining marks, emoji, full-width and
/// compatibility characters that `nmt_nfkc` rewrites, ligatures, zero-width and control
/// characters, runs of spaces, `` and '' quotes, special tokens in the text), 6 pairs and 9
/// `longest_first` truncations, for four tokenizers:
/// - `xlmr_tiny`: a real `sentencepiece`-trained model (its `nmt_nfkc` Precompiled charsmap),
///   saved by transformers 5's `XLMRobertaTokenizer` (WhitespaceSplit + Metaspace, XLM-R's
///   TemplateProcessing);
/// - `xlmr_hub`: the same model with the Hub xlm-roberta-base file's components (Replace,
///   Precompiled, Replace(Regex); Metaspace alone);
/// - `tokenizers_tiny`: a Unigram trained by `tokenizers` (Strip, Replace, Replace(Regex);
///   Metaspace; RobertaProcessing with trim_offsets);
/// - `tokenizers_variant`: that model with Lowercase + Strip, WhitespaceSplit + Metaspace(first)
///   and a template with type ids 1. Exact.
final class UnigramTokenizerTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let pair: String?
        let max_length: Int?
        let ids: [Int32]
        let type_ids: [Int32]
        let offsets: [[Int]]
    }

    struct WordsCase: Decodable {
        let words: [String]
        let max_length: Int?
        let ids: [Int32]
        let word_ids: [Int?]
    }

    struct CaseSet: Decodable {
        let single: [Case], pairs: [Case], truncation: [Case]
        /// `is_split_into_words=True`: ids and `word_ids()`.
        let words: [WordsCase]
    }

    struct Cases: Decodable {
        let format_version: String
        let xlmr_tiny: CaseSet, xlmr_hub: CaseSet, tokenizers_tiny: CaseSet, tokenizers_variant: CaseSet
    }

    static var fixtures: URL {
        get throws { try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)) }
    }

    static func cases() throws -> Cases {
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: fixtures.appendingPathComponent("unigram_cases.json")))
        XCTAssertEqual(cases.format_version, "1")
        return cases
    }

    /// The fixture's object `key` (`variant_components`, `hub_components`).
    static func components(_ key: String) throws -> [String: Any] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("unigram_cases.json")))
        return try XCTUnwrap((root as? [String: Any])?[key] as? [String: Any])
    }

    func check(_ tokenizer: UnigramTokenizer, _ set: CaseSet, _ kind: String) {
        XCTAssertGreaterThanOrEqual(set.single.count + set.pairs.count + set.truncation.count, 60)
        for c in set.single + set.pairs + set.truncation {
            let e = tokenizer.encodeWithOffsets(c.text, pair: c.pair, maxLength: c.max_length)
            let label = "\(kind) \(c.text.debugDescription) \(c.pair?.debugDescription ?? "") \(c.max_length.map(String.init) ?? "")"
            XCTAssertEqual(e.encoding.inputIds, c.ids, label + " " + tokenizer.tokens(e.encoding.inputIds).joined(separator: " "))
            XCTAssertEqual(e.encoding.tokenTypeIds, c.type_ids, label)
            XCTAssertEqual(e.encoding.attentionMask, [Int32](repeating: 1, count: c.ids.count), label)
            XCTAssertEqual(zip(e.starts, e.ends).map { [$0, $1] }, c.offsets, label + " offsets")
            XCTAssertEqual(tokenizer.encode(c.text, pair: c.pair, maxLength: c.max_length), e.encoding, label)
            XCTAssertEqual(tokenizer.encodeIds(c.text), tokenizer.encodeWithOffsets(c.text).ids, label)
        }
        XCTAssertGreaterThanOrEqual(set.words.count, 5)
        for c in set.words {
            let e = tokenizer.encodeWords(c.words, maxLength: c.max_length)
            XCTAssertEqual(e.encoding.inputIds, c.ids, "\(kind) words \(c.words)")
            XCTAssertEqual(e.wordIds, c.word_ids, "\(kind) word ids \(c.words)")
        }
        // Words of running text: cut at whitespace, an added token alone.
        let spans = tokenizer.wordSpans(of: " 张三 在<mask>北京,  work.")
        XCTAssertEqual(spans.map(\.text), ["张三", "在", "<mask>", "北京,", "work."])
        XCTAssertEqual(spans.map(\.start), [1, 4, 5, 11, 16])
    }

    /// A copy of `source` with some top-level components replaced, loaded.
    func load(_ source: URL, replacing components: [String: Any]) throws -> UnigramTokenizer {
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        for (k, v) in components { root[k] = v }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("unigram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: root).write(to: file)
        return try UnigramTokenizer.load(tokenizerJSON: file, tokenizerConfig: nil)
    }

    func testXLMRobertaSentencePieceModelMatches() throws {
        let directory = try Self.fixtures.appendingPathComponent("xlmr_tiny")
        let tokenizer = try XCTUnwrap(try EncoderTokenizers.load(modelDirectory: directory) as? UnigramTokenizer)
        XCTAssertEqual(
            [tokenizer.clsTokenId, tokenizer.padTokenId, tokenizer.sepTokenId, tokenizer.unkTokenId, tokenizer.maskTokenId], [0, 1, 2, 3, 2001])
        XCTAssertEqual(tokenizer.vocabularySize, 2002)
        XCTAssertEqual(tokenizer.specialTokenCount(pair: false), 2)
        XCTAssertEqual(tokenizer.specialTokenCount(pair: true), 4)
        check(tokenizer, try Self.cases().xlmr_tiny, "xlmr_tiny")
    }

    /// A directory with only `sentencepiece.bpe.model` (read from its protobuf) gives the tokenizer
    /// transformers converts from it: the same cases as its tokenizer.json.
    func testSentencePieceModelAloneMatches() throws {
        let source = try Self.fixtures.appendingPathComponent("xlmr_tiny/sentencepiece.bpe.model")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: source, to: directory.appendingPathComponent("sentencepiece.bpe.model"))
        let tokenizer = try XCTUnwrap(try EncoderTokenizers.load(modelDirectory: directory) as? UnigramTokenizer)
        XCTAssertEqual(
            [tokenizer.clsTokenId, tokenizer.padTokenId, tokenizer.sepTokenId, tokenizer.unkTokenId, tokenizer.maskTokenId], [0, 1, 2, 3, 2001])
        check(tokenizer, try Self.cases().xlmr_tiny, "sentencepiece.bpe.model")
        // A file that is not a model is named.
        try Data("not a protobuf".utf8).write(to: directory.appendingPathComponent("sentencepiece.bpe.model"))
        XCTAssertThrowsError(try EncoderTokenizers.load(modelDirectory: directory)) { error in
            XCTAssertTrue("\(error)".contains("sentencepiece.bpe.model"), "\(error)")
        }
    }

    func testHubXLMRobertaComponentsMatch() throws {
        let file = try Self.fixtures.appendingPathComponent("xlmr_tiny/tokenizer.json")
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let charsmap = try XCTUnwrap((root["normalizer"] as? [String: Any])?["precompiled_charsmap"] as? String)
        var hub = try Self.components("hub_components")
        var normalizer = try XCTUnwrap(hub["normalizer"] as? [String: Any])
        var list = try XCTUnwrap(normalizer["normalizers"] as? [[String: Any]])
        XCTAssertEqual(list[2]["type"] as? String, "Precompiled")
        list[2]["precompiled_charsmap"] = charsmap
        normalizer["normalizers"] = list
        hub["normalizer"] = normalizer
        check(try load(file, replacing: hub), try Self.cases().xlmr_hub, "xlmr_hub")
    }

    func testTokenizersTrainedUnigramMatches() throws {
        let file = try Self.fixtures.appendingPathComponent("unigram/tokenizers_tiny.json")
        let tokenizer = try UnigramTokenizer.load(tokenizerJSON: file, tokenizerConfig: nil)
        XCTAssertTrue(tokenizer.template.trimOffsets)
        check(tokenizer, try Self.cases().tokenizers_tiny, "tokenizers_tiny")
        check(try load(file, replacing: try Self.components("variant_components")), try Self.cases().tokenizers_variant, "variant")
    }

    /// Unsupported components and bad values fail naming the file and what is wrong.
    func testUnsupportedComponentsAreNamed() throws {
        let file = try Self.fixtures.appendingPathComponent("unigram/tokenizers_tiny.json")
        let bad: [([String: Any], String)] = [
            (["normalizer": ["type": "BertNormalizer"]], "normalizer BertNormalizer"),
            (["pre_tokenizer": ["type": "ByteLevel"]], "pre_tokenizer ByteLevel"),
            (["post_processor": ["type": "BertProcessing"]], "post_processor BertProcessing"),
            (["normalizer": ["type": "Precompiled", "precompiled_charsmap": "AAAA"]], "precompiled_charsmap"),
            (["normalizer": ["type": "Replace", "pattern": ["Regex": "("], "content": ""]], "does not compile"),
            (["pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"]], "prepend_scheme"),
        ]
        for (components, expected) in bad {
            XCTAssertThrowsError(try load(file, replacing: components)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(expected) && message.contains("tokenizer.json"), message)
            }
        }
    }
}

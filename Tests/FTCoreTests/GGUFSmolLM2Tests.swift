import FTCore
import Foundation
import TestSupport
import XCTest

/// The real SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch_assets.sh; a missing file fails):
/// the metadata of docs/assets.md and de-quantised values equal to gguf-py's `dequantize`
/// (Fixtures/gguf/smollm2.expected.json, written by scripts/reference/make_gguf_fixtures.py).
final class GGUFSmolLM2Tests: XCTestCase {
    private struct Expected: Decodable {
        struct Tensor: Decodable {
            let type: String
            let shape: [Int]
            let first8_bits: [String]
            let last8_bits: [String]
            let sum: Double
        }
        let file_size: Int
        let tensor_count: Int
        let type_counts: [String: Int]
        let metadata_count: Int
        let token_count: Int
        let tokens_sample: [String: String]
        let merge_count: Int
        let merges_first3: [String]
        let chat_template_prefix: String
        let tensors: [String: Tensor]
    }

    private func load() throws -> (GGUFFile, Expected) {
        let url = try TestAssets.requireSmolLM2GGUF()
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: GGUFFixtures.url("smollm2.expected.json")))
        let start = Date()
        let file = try GGUFFile(url: url)
        print("GGUFSmolLM2Tests: opened \(url.lastPathComponent) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        XCTAssertEqual(file.fileSize, expected.file_size, "not the file the fixture was made from")
        return (file, expected)
    }

    func testMetadata() throws {
        let (file, expected) = try load()
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.metadataKeys.count, expected.metadata_count)
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.int("llama.block_count"), 30)
        XCTAssertEqual(try file.int("llama.embedding_length"), 576)
        XCTAssertEqual(try file.int("llama.feed_forward_length"), 1536)
        XCTAssertEqual(try file.int("llama.attention.head_count"), 9)
        XCTAssertEqual(try file.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(try file.int("llama.rope.dimension_count"), 64)
        XCTAssertEqual(try file.float("llama.rope.freq_base"), 100_000)
        XCTAssertEqual(try file.float("llama.attention.layer_norm_rms_epsilon"), Double(Float(1e-5)))
        XCTAssertEqual(try file.int("llama.context_length"), 8192)
        XCTAssertEqual(try file.int("llama.vocab_size"), 49152)
        XCTAssertEqual(try file.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try file.string("tokenizer.ggml.pre"), "smollm")
        XCTAssertEqual(try file.int("tokenizer.ggml.bos_token_id"), 1)
        XCTAssertEqual(try file.int("tokenizer.ggml.eos_token_id"), 2)
        XCTAssertEqual(try file.int("tokenizer.ggml.padding_token_id"), 2)
        XCTAssertEqual(try file.int("tokenizer.ggml.unknown_token_id"), 0)
        XCTAssertEqual(try file.optionalBool("tokenizer.ggml.add_bos_token"), false)

        let tokens = try file.stringArray("tokenizer.ggml.tokens")
        XCTAssertEqual(tokens.count, 49152)
        XCTAssertEqual(tokens.count, expected.token_count)
        for (index, token) in expected.tokens_sample { XCTAssertEqual(tokens[Int(index)!], token, "token \(index)") }
        XCTAssertEqual(try file.intArray("tokenizer.ggml.token_type").count, 49152)
        let merges = try file.stringArray("tokenizer.ggml.merges")
        XCTAssertEqual(merges.count, 48900)
        XCTAssertEqual(Array(merges.prefix(3)), expected.merges_first3)
        let template = try file.string("tokenizer.chat_template")
        XCTAssert(template.hasPrefix(expected.chat_template_prefix), template.prefix(80).description)
        XCTAssert(template.contains("<|im_start|>"))
    }

    func testTensorsAndDequantizedValues() throws {
        let (file, expected) = try load()
        XCTAssertEqual(file.tensors.count, 272)
        var counts: [String: Int] = [:]
        for t in file.tensors { counts[t.type.name, default: 0] += 1 }
        XCTAssertEqual(counts, ["Q4_1": 210, "F32": 61, "Q8_0": 1])
        XCTAssertEqual(counts, expected.type_counts)
        XCTAssertEqual(file.tensor(named: "token_embd.weight")?.type, .q8_0)
        XCTAssertEqual(file.tensor(named: "token_embd.weight")?.shape, [49152, 576])
        XCTAssertNil(file.tensor(named: "output.weight"), "tied embeddings: no output.weight")
        XCTAssertEqual(file.tensors.reduce(0) { $0 + $1.elementCount }, 134_515_008)

        for (name, want) in expected.tensors.sorted(by: { $0.key < $1.key }) {
            let info = try file.requireTensor(name)
            XCTAssertEqual(info.type.name, want.type, name)
            XCTAssertEqual(info.shape, want.shape, name)
            let values = try file.floats(info)
            let hex = { (v: ArraySlice<Float>) in v.map { String(format: "%08x", $0.bitPattern) } }
            XCTAssertEqual(hex(values.prefix(8)), want.first8_bits, name)
            XCTAssertEqual(hex(values.suffix(8)), want.last8_bits, name)
            // The whole tensor: its float64 sum (gguf-py sums pairwise, this sequentially).
            let sum = values.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, want.sum, accuracy: 1e-9 * max(1, abs(want.sum)) + 1e-6, name)
        }
    }

    func testEveryTensorDequantizes() throws {
        let (file, _) = try load()
        let largest = file.tensors.map(\.elementCount).max()!
        var buffer = [Float](repeating: 0, count: largest)
        let start = Date()
        var nonFinite = 0
        for info in file.tensors {
            try buffer.withUnsafeMutableBufferPointer { all in
                let part = UnsafeMutableBufferPointer(rebasing: all[0..<info.elementCount])
                try file.dequantize(info, into: part)
                nonFinite += part.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            }
        }
        print("GGUFSmolLM2Tests: de-quantised all 272 tensors in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        XCTAssertEqual(nonFinite, 0)
    }
}

import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Loading a Llama from GGUF: a tiny model written as llama.cpp's converter writes it (q/k rows
/// permuted) gives the PyTorch reference logits; the real SmolLM2-135M-Instruct Q4_1 file gives
/// transformers' de-quantised float32 model (scripts/reference/make_smollm2_gguf_reference.py):
/// every tensor's sums and 256 sampled values, the last position's logits and greedy generation.
final class LlamaGGUFTests: XCTestCase {
    /// llama.cpp's `permute`: `w.reshape(heads, 2, D/2, in).swapaxes(1, 2).reshape(out, in)`.
    func permuted(_ w: [Float], heads: Int, columns: Int) -> [Float] {
        let D = w.count / columns / heads, half = D / 2
        var out = w
        for h in 0..<heads {
            for j in 0..<half {
                for s in 0..<2 {
                    for c in 0..<columns { out[(h * D + 2 * j + s) * columns + c] = w[(h * D + s * half + j) * columns + c] }
                }
            }
        }
        return out
    }

    func testTinyModelWrittenAsLlamaCppLoadsToTheReference() throws {
        let source = try LlamaFixtures.model()
        let c = source.config
        var writer = GGUFWriter()
        writer.add(key: "general.architecture", .string("llama"))
        writer.add(key: "llama.block_count", .uint32(UInt32(c.numHiddenLayers)))
        writer.add(key: "llama.context_length", .uint32(UInt32(c.maxPositionEmbeddings)))
        writer.add(key: "llama.embedding_length", .uint32(UInt32(c.hiddenSize)))
        writer.add(key: "llama.feed_forward_length", .uint32(UInt32(c.intermediateSize)))
        writer.add(key: "llama.attention.head_count", .uint32(UInt32(c.numAttentionHeads)))
        writer.add(key: "llama.attention.head_count_kv", .uint32(UInt32(c.numKeyValueHeads)))
        writer.add(key: "llama.rope.freq_base", .float32(Float(c.ropeTheta)))
        writer.add(key: "llama.attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps))
        writer.add(key: "llama.vocab_size", .uint32(UInt32(c.vocabSize)))
        for view in source.store.views {
            guard let name = LlamaModel.ggufName(storeName: view.name) else { return XCTFail("no GGUF name for \(view.name)") }
            var values = source.store.valueArray(view.name)
            if view.name.hasSuffix("q_proj.weight") { values = permuted(values, heads: c.numAttentionHeads, columns: c.hiddenSize) }
            if view.name.hasSuffix("k_proj.weight") { values = permuted(values, heads: c.numKeyValueHeads, columns: c.hiddenSize) }
            try values.withUnsafeBufferPointer { try writer.addTensor(name: name, shape: view.shape, values: $0, type: .f32) }
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-llama-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)

        let model = try XCTUnwrap(try ModelRegistry.load(modelDirectory: url) as? LlamaModel)
        XCTAssertEqual(model.config, c)
        for view in source.store.views {
            XCTAssertEqual(model.store.valueArray(view.name), source.store.valueArray(view.name), view.name)
        }
        let file = try LlamaFixtures.reference("llama_tiny_reference")
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let logits = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: 2, sequence: ids.count / 2, training: false)
        assertClose(
            Array(UnsafeBufferPointer(start: logits, count: ids.count * c.vocabSize)), try file.floats("output.logits"), atol: 1e-5,
            rtol: 1e-5, "logits")
    }

    func testBadGGUFIsRefusedByName() throws {
        var writer = GGUFWriter()
        writer.add(key: "general.architecture", .string("gpt2"))
        try [Float](repeating: 0, count: 4).withUnsafeBufferPointer {
            try writer.addTensor(name: "token_embd.weight", shape: [2, 2], values: $0, type: .f32)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)
        XCTAssertThrowsError(try LlamaModel.load(gguf: url)) { error in
            XCTAssertTrue("\(error)".contains("general.architecture"), "\(error)")
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
    }

    func testSmolLM2EqualsTransformersDequantisedModel() throws {
        let url = try TestAssets.requireSmolLM2GGUF()
        let reference = try LlamaFixtures.reference("smollm2_gguf_reference")
        let model = try XCTUnwrap(try ModelRegistry.load(modelDirectory: url) as? LlamaModel)
        let c = model.config
        XCTAssertEqual(
            [c.numHiddenLayers, c.hiddenSize, c.numAttentionHeads, c.numKeyValueHeads, c.intermediateSize, c.vocabSize],
            [30, 576, 9, 3, 1536, 49152])
        XCTAssertEqual(c.ropeTheta, 100000)
        XCTAssertEqual(c.rmsNormEps, 1e-5)
        XCTAssertTrue(c.tieWordEmbeddings)
        var checked = 0
        for view in model.store.views {
            let p = model.store.value(view.name), n = view.count
            let sums = try reference.withRawBytes("check.\(view.name).sums") { raw in
                (0..<2).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
            }
            // Float sums of 4096-element chunks (optimised kernels: the debug build's own loops take
            // seconds over 135M values), added in double; Σ|x| ≤ √(n Σx²) bounds their rounding.
            var sum = 0.0, squares = 0.0
            for i in stride(from: 0, to: n, by: 4096) {
                let m = min(4096, n - i)
                sum += Double(VectorMath.sum(p + i, m))
                squares += Double(VectorMath.dot(p + i, p + i, m))
            }
            XCTAssertEqual(sum, sums[0], accuracy: 1e-6 * (Double(n) * sums[1]).squareRoot(), "\(view.name) sum")
            XCTAssertEqual(squares, sums[1], accuracy: 1e-6 * sums[1], "\(view.name) sum of squares")
            let samples = try reference.floats("check.\(view.name).samples")
            let indices = (0..<256).map { min($0 * n / 256 + $0 % 7, n - 1) }
            XCTAssertEqual(indices.map { p[$0] }, samples, "\(view.name) samples")
            checked += 1
        }
        XCTAssertEqual(checked, reference.tensors.filter { $0.name.hasSuffix(".samples") }.count)

        let prompt = try reference.int64s("prompt").map(Int32.init)
        let expected = try reference.int64s("generate.ids").map(Int32.init)
        let cache = try model.makeCache(capacity: expected.count)
        var logits = try prompt.withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) }
        assertClose(
            Array(UnsafeBufferPointer(start: logits, count: c.vocabSize)), try reference.floats("output.last_logits"), atol: 2e-4,
            rtol: 1e-4, "last logits")
        var ids = prompt
        while ids.count < expected.count {
            let next = Int32((0..<c.vocabSize).max { logits[$0] < logits[$1] }!)
            ids.append(next)
            if ids.count < expected.count { logits = try [next].withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) } }
        }
        XCTAssertEqual(ids, expected)
    }
}

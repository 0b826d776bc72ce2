import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Generation through the key/value cache: prefill then token by token gives the full forward's
/// logits at every position (within 1e-5), and greedy decoding through it equals transformers'
/// `generate(do_sample=False)` (scripts/reference/make_llama_reference.py).
final class LlamaCacheTests: XCTestCase {
    func testCachedLogitsEqualFullForwardAtEveryPosition() throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["v_proj", "up_proj"], modulesToSave: [])
        let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 9, stream: 0)
        try XCTUnwrap(model.lora).initialize(rng: &rng)
        let b = model.store.value("model.layers.0.mlp.up_proj.lora_B.weight")
        for i in 0..<model.store.view("model.layers.0.mlp.up_proj.lora_B.weight").count { b[i] = 0.1 * Float(i % 7 - 3) }
        let tokens: [Int32] = [5, 17, 42, 8, 77, 3, 91, 12, 60, 33, 2]
        let T = tokens.count, V = model.config.vocabSize
        let full = Array(
            UnsafeBufferPointer(
                start: try model.forwardLogits(inputIds: tokens, attentionMask: nil, batch: 1, sequence: T, training: false),
                count: T * V))
        let cache = try model.makeCache(capacity: 16)
        for split in [4, 1] {
            cache.reset()
            // Prefill `split` tokens, then one by one.
            var position = 0
            var chunks = [Array(tokens[0..<split])]
            chunks += tokens[split...].map { [$0] }
            for chunk in chunks {
                let logits = try chunk.withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) }
                position += chunk.count
                assertClose(
                    Array(UnsafeBufferPointer(start: logits, count: V)), Array(full[(position - 1) * V..<position * V]),
                    atol: 1e-5, rtol: 1e-5, "position \(position - 1) after a prefill of \(split)")
            }
            XCTAssertEqual(cache.count, T)
        }
        XCTAssertThrowsError(try [Int32](repeating: 1, count: 6).withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) })
        XCTAssertThrowsError(try [Int32(97)].withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) })
    }

    func testGreedyDecodingThroughTheCacheEqualsTransformers() throws {
        let file = try LlamaFixtures.reference("llama_tiny_reference")
        let model = try LlamaFixtures.model()
        let prompt = try file.int64s("generate.prompt").map(Int32.init)
        let expected = try file.int64s("generate.ids").map(Int32.init)
        let V = model.config.vocabSize
        let cache = try model.makeCache(capacity: expected.count)
        var ids = prompt
        var logits = try prompt.withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) }
        while ids.count < expected.count {
            let next = Int32((0..<V).max { logits[$0] < logits[$1] }!)
            ids.append(next)
            if ids.count < expected.count { logits = try [next].withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) } }
        }
        XCTAssertEqual(ids, expected)
    }

    /// Generating between a training forward and its backward (evaluation mid-step) changes neither.
    func testGenerationBetweenForwardAndBackwardLeavesTrainingAlone() throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.2, targetModules: ["q_proj", "down_proj"], modulesToSave: [])
        let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 4, stream: 0)
        try XCTUnwrap(model.lora).initialize(rng: &rng)
        for view in model.store.views where view.name.hasSuffix("lora_B.weight") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.1 * Float(i % 5 - 2) }
        }
        model.setTrainable { LoRALayers.isLoRATensor($0) }
        let ids: [Int32] = [4, 8, 15, 16, 23, 42, 7, 9, 1, 2, 3, 5], mask = [Int32](repeating: 1, count: 12)
        let dLogits = LossProjection(count: 12 * 97, seed: 3).weights
        func gradients(generateInBetween: Bool) throws -> [Float] {
            model.store.zeroGradients()
            _ = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: 2, sequence: 6, training: true, dropoutSeed: 9)
            if generateInBetween {
                let cache = try model.makeCache(capacity: 20)
                _ = try [Int32](repeating: 3, count: 14).withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) }
            }
            model.backwardLogits(dLogits: dLogits)
            return Array(model.store.gradients)
        }
        XCTAssertEqual(try gradients(generateInBetween: true), try gradients(generateInBetween: false))
    }
}

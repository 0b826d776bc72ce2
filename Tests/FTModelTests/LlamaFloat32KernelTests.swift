import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The Llama's float32 products on oneDNN (its default, `LlamaModel.float32Kernel`) and on
/// OpenBLAS give the same logits, gradients and prompt logits within float32 re-association
/// (1e-5): the reference tests run the default, this ties the other kernel to it.
final class LlamaFloat32KernelTests: XCTestCase {
    func testDefaultIsOneDNNUnlessTheEnvironmentSaysOtherwise() throws {
        let model = try LlamaFixtures.model()
        let environment = ProcessInfo.processInfo.environment["FTTRAIN_FLOAT32_KERNEL"]
        XCTAssertEqual(model.float32Kernel, environment.flatMap { Float32Kernel(rawValue: $0) } ?? .oneDNN)
    }

    func testBothKernelsGiveTheSameTrainingStepAndPrefill() throws {
        let file = try LlamaFixtures.reference("llama_tiny_reference")
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let labels = try file.int64s("input.labels")
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["q_proj", "down_proj"], modulesToSave: [])
        var results: [(logits: [Float], gradients: [String: [Float]], prefill: [Float])] = []
        for kernel in [Float32Kernel.openBLAS, .oneDNN] {
            let model = try LlamaFixtures.model(peft: PEFTSetup(lora: lora))
            var rng = SeededRNG(seed: 3, stream: 0)
            try XCTUnwrap(model.lora).initialize(rng: &rng)
            // Every tensor trains: the weight-gradient products (TN) run too.
            model.setTrainable { _ in true }
            model.float32Kernel = kernel
            let (B, T, V) = (2, ids.count / 2, model.config.vocabSize)
            let logits = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: B, sequence: T, training: true)
            let copied = Array(UnsafeBufferPointer(start: logits, count: B * T * V))
            let (_, dLogits) = nextTokenCrossEntropy(logits: logits, labels: labels, batch: B, sequence: T, vocabulary: V)
            model.store.zeroGradients()
            model.backwardLogits(dLogits: dLogits)
            var gradients: [String: [Float]] = [:]
            for view in model.store.trainableViews { gradients[view.name] = model.store.gradientArray(view.name) }
            let cache = try model.makeCache(capacity: T)
            let prefill = try Array(ids[0..<T]).withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) }
            results.append((copied, gradients, Array(UnsafeBufferPointer(start: prefill, count: V))))
        }
        let (blas, dnnl) = (results[0], results[1])
        assertClose(dnnl.logits, blas.logits, atol: 1e-5, rtol: 1e-5, "logits")
        assertClose(dnnl.prefill, blas.prefill, atol: 1e-5, rtol: 1e-5, "prefill logits")
        XCTAssertEqual(Set(dnnl.gradients.keys), Set(blas.gradients.keys))
        XCTAssertGreaterThan(dnnl.gradients.count, 20)
        for (name, gradient) in blas.gradients {
            assertClose(try XCTUnwrap(dnnl.gradients[name]), gradient, atol: 1e-5, rtol: 1e-4, "grad." + name)
        }
    }
}

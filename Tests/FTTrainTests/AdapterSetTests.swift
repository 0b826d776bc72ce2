import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// Several adapters over one base model: switching gives exactly what a model loaded with that
/// adapter alone gives, whatever was active before (biases and heads do not leak).
final class AdapterSetTests: XCTestCase {
    func testSwitchingAdaptersEqualsLoadingEachAlone() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-adapters-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = directory.appendingPathComponent("base")
        try TinyModelDirectory.write(to: base, words: ["good", "bad", "film"])
        // Two adapters of one shape; the second also trains every bias (PEFT's bias="all").
        var adapters: [(name: String, directory: URL)] = []
        for (k, bias) in [LoRABias.none, .all].enumerated() {
            let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["query", "value", "output.dense"], bias: bias)
            let model = try EncoderModel.load(modelDirectory: base, numLabels: 3, seed: UInt64(10 + k), peft: PEFTSetup(lora: lora))
            var rng = SeededRNG(seed: UInt64(20 + k))
            for view in model.store.views where lora.isTrainable(view.name) {
                let p = model.store.value(view.name)
                for i in 0..<view.count { p[i] = 0.3 * rng.nextNormal() }
            }
            let url = directory.appendingPathComponent("adapter\(k)")
            try PEFTAdapter.write(model: model, to: url, baseModelName: base.path)
            adapters.append(("a\(k)", url))
        }
        let ids: [Int32] = [2, 5, 6, 7, 3, 2, 6, 3, 0, 0], types = [Int32](repeating: 0, count: 10)
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        func logits(_ model: any SequenceModel) throws -> [Float] {
            let out = try model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 5, training: false,
                dropoutSeed: 0, firstTokenOnly: false)
            return Array(UnsafeBufferPointer(start: out.logits!, count: 6))
        }
        let set = try AdapterSet(baseModelDirectory: base, adapters: adapters)
        var alone: [[Float]] = []
        for adapter in adapters {
            let single = try AdapterSet(baseModelDirectory: base, adapters: [adapter])
            alone.append(try logits(single.model))
        }
        XCTAssertNotEqual(alone[0], alone[1])
        for name in ["a1", "a0", "a1", "a0"] {
            try set.activate(name)
            XCTAssertEqual(try logits(set.model), alone[name == "a0" ? 0 : 1], "adapter \(name) after switching")
        }
        XCTAssertEqual(try set.labels(of: "a0", baseModelDirectory: base), ["LABEL_0", "LABEL_1", "LABEL_2"])
        XCTAssertThrowsError(try set.activate("missing"))
    }
}

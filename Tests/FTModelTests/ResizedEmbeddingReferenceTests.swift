import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// A vocabulary resized by added tokens against transformers' `resize_token_embeddings`
/// (scripts/reference/make_added_tokens_reference.py --model): a tiny random
/// `BertForTokenClassification` of 97 tokens loaded with `vocabularySize: 100` keeps its 97 rows
/// exactly and starts the 3 new ones at the mean of the old rows (transformers' draw is centred
/// there, spread 3·10⁻⁵ σ: atol 1e-6 on the mean itself); with transformers' drawn rows copied
/// in, the logits, loss and every gradient — the (100, C) word-embedding gradient with its new
/// rows included — match with the BERT tolerances (outputs atol/rtol 1e-5, gradients atol 1e-5,
/// rtol 1e-4). The exported config says vocab_size 100.
final class ResizedEmbeddingReferenceTests: XCTestCase {
    func testResizedModelMatchesTransformers() throws {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: "added_tokens_model_reference", withExtension: "safetensors", subdirectory: "Fixtures"))
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(file.metadata["format_version"], "1", "reference format changed: regenerate it and update the test")
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("resized-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: directory) }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        try XCTUnwrap(file.metadata["config"]).write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: file.path, toPath: directory.appendingPathComponent("model.safetensors").path)

        let model = try XCTUnwrap(
            try ModelRegistry.load(modelDirectory: directory, numLabels: 5, head: .tokenClassification, vocabularySize: 100) as? EncoderModel)
        let (V, C, L) = (100, 32, 5)
        XCTAssertEqual(model.config.vocabSize, V)
        let name = model.config.family.names.wordEmbeddings
        let words = model.store.valueArray(name)
        XCTAssertEqual(words.count, V * C)
        let old = try file.floats("bert.embeddings.word_embeddings.weight")
        XCTAssertEqual(Array(words[0..<(97 * C)]), old, "the old rows are kept exactly")
        let mean = try file.floats("reference.mean_row")
        for r in 97..<V { assertClose(Array(words[(r * C)..<((r + 1) * C)]), mean, atol: 1e-6, rtol: 0, "new row \(r) = mean of the old rows") }
        let drawn = try file.floats("resized.word_embeddings")
        assertClose(Array(drawn[(97 * C)...]), Array(words[(97 * C)...]), atol: 1e-3, rtol: 0, "transformers' draws lie next to the mean")
        XCTAssertEqual(model.exportConfig(base: [:], labels: ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])["vocab_size"] as? Int, V)

        // transformers' drawn rows copied in: the resized model computes as transformers'.
        model.store.value(name).update(from: drawn, count: V * C)
        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        let (B, T) = (shape[0], shape[1])
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        XCTAssertTrue(ids.contains(97) && ids.contains(99), "the inputs use the new ids")
        let types = try file.int64s("input.token_type_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let labels = try file.int64s("input.labels").map(Int32.init)
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: true, firstTokenOnly: false)
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: B * T * L))
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        let objective = try TokenClassificationObjective(classes: L)
        var dLogits = [Float](repeating: 0, count: B * T * L)
        let loss = objective.loss(outputs: logits, targets: labels, batch: B, sequence: T, dOutputs: &dLogits)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")
        model.store.zeroGradients()
        model.backward(dLogits: dLogits, gradientsReady: { _ in })
        var checked = 0
        for view in model.store.views {
            let stored = model.config.family.names.checkpointName(view.name)
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + stored), atol: 1e-5, rtol: 1e-4, "grad." + stored)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every reference gradient is checked")
        let newRows = Array(model.store.gradientArray(name)[(97 * C)...])
        XCTAssertTrue(newRows.contains { $0 != 0 }, "the new rows get gradients")
    }

    /// Without `vocabularySize` a checkpoint whose matrix disagrees with config.json still fails.
    func testWithoutResizeAMismatchStillFails() throws {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: "added_tokens_model_reference", withExtension: "safetensors", subdirectory: "Fixtures"))
        let file = try SafeTensorsFile(path: url.path)
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("resized-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: directory) }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = try XCTUnwrap(file.metadata["config"]).replacingOccurrences(of: "\"vocab_size\": 97", with: "\"vocab_size\": 100")
        XCTAssertTrue(config.contains("\"vocab_size\": 100"))
        try config.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: file.path, toPath: directory.appendingPathComponent("model.safetensors").path)
        XCTAssertThrowsError(try ModelRegistry.load(modelDirectory: directory, numLabels: 5, head: .tokenClassification)) {
            XCTAssertTrue("\($0)".contains("vocab_size"), "\($0)")
        }
    }
}

import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The token-classification head against PyTorch + transformers: a tiny random
/// `BertForTokenClassification` (no pooler, 5 labels, −100 on special tokens, padding and a
/// continuation sub-token), scripts/reference/make_token_classification_reference.py.
/// Tolerances are BERT's (`PyTorchReferenceTests`): outputs and loss atol 1e-5, rtol 1e-5;
/// gradients atol 1e-5, rtol 1e-4.
final class TokenClassificationReferenceTests: XCTestCase {
    static func fixture(_ name: String = "bert_token_tiny_reference") throws -> SafeTensorsFile {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"),
            "\(name) missing from the test bundle")
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(file.metadata["format_version"], "1", "reference format changed: regenerate it and update the test")
        return file
    }

    static func configObject(_ file: SafeTensorsFile) throws -> [String: Any] {
        let data = try XCTUnwrap(file.metadata["config"]?.data(using: .utf8))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testForwardAndBackwardMatchPyTorch() throws {
        try check(fixture: "bert_token_tiny_reference", family: .bert, architecture: "BertForTokenClassification")
    }

    /// DistilBERT's token head: no `pre_classifier`, no token types.
    func testDistilBertMatchesPyTorch() throws {
        try check(fixture: "distilbert_token_tiny_reference", family: .distilBERT, architecture: "DistilBertForTokenClassification")
    }

    /// RoBERTa's token head: BERT's `classifier` (not the sequence head's `classifier.out_proj`),
    /// positions after the padding index, `<pad>` = 1 (RobertaReferenceTests has the rest).
    func testRobertaMatchesPyTorch() throws {
        try check(fixture: "roberta_token_tiny_reference", family: .roberta, architecture: "RobertaForTokenClassification", labelled: 45)
    }

    func check(fixture name: String, family: EncoderFamily, architecture: String, labelled: Int = 8) throws {
        let file = try Self.fixture(name)
        let json = ConfigJSON(path: "fixture config", object: try Self.configObject(file))
        XCTAssertEqual(try ModelRegistry.encoderFamily(of: json), family)
        let config = try ModelRegistry.encoderFamily(of: json).readConfig(json)
        let model = try EncoderModel(config: config, numLabels: 5, head: .tokenClassification)
        XCTAssertFalse(model.store.views.contains { $0.name.hasPrefix(config.family.names.pooler) }, "a token head has no pooler")
        XCTAssertEqual(try model.load(from: file), [], "the reference has the classifier")
        XCTAssertEqual(model.architectureName, architecture)
        XCTAssertFalse(model.computesFirstTokensOnly)

        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        let (B, T, C, L) = (shape[0], shape[1], config.hiddenSize, 5)
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let types =
            file.info("input.token_type_ids") == nil ? [Int32](repeating: 0, count: B * T) : try file.int64s("input.token_type_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let labels = try file.int64s("input.labels").map(Int32.init)
        XCTAssertTrue(mask.contains(0) && labels.contains(-100), "the reference must exercise padding and ignored labels")

        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: true,
            firstTokenOnly: true)  // asked for, but a token head needs every row
        XCTAssertNil(out.pooled)
        let hidden = Array(UnsafeBufferPointer(start: out.lastHiddenState, count: B * T * C))
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: B * T * L))
        assertClose(hidden, try file.floats("output.last_hidden_state"), atol: 1e-5, rtol: 1e-5, "last_hidden_state")
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")

        let objective = try TokenClassificationObjective(classes: L)
        XCTAssertNoThrow(try objective.validate(targets: labels, batch: B, sequence: T))
        XCTAssertThrowsError(try objective.validate(targets: [5], batch: 1, sequence: 1))
        XCTAssertEqual(labels.withUnsafeBufferPointer { objective.reductionCount(targets: $0.baseAddress!, batch: B, sequence: T) }, labelled)
        var dLogits = [Float](repeating: 0, count: B * T * L)
        let loss = objective.loss(outputs: logits, targets: labels, batch: B, sequence: T, dOutputs: &dLogits)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")

        model.store.zeroGradients()
        var ready: [Int] = []
        model.backward(dLogits: dLogits, gradientsReady: { ready.append($0) })
        XCTAssertEqual(ready.last, 0)
        XCTAssertEqual(ready, ready.sorted(by: >), "gradients become final from the head down")
        var checked = 0
        for view in model.store.views {
            let stored = model.config.family.names.checkpointName(view.name)  // the head's own names (RoBERTa: `classifier`)
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + stored), atol: 1e-5, rtol: 1e-4, "grad." + stored)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every reference gradient is checked")
    }

    /// A directory whose `architectures` names a token classifier loads with a token head through
    /// the registry; a sequence head on the same weights has a pooler the file lacks.
    func testRegistryPicksTheTokenHeadFromArchitectures() throws {
        let file = try Self.fixture()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bert-token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try XCTUnwrap(file.metadata["config"]).write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: file.path, toPath: directory.appendingPathComponent("model.safetensors").path)
        let model = try ModelRegistry.load(modelDirectory: directory, numLabels: 5)
        XCTAssertEqual(model.architectureName, "BertForTokenClassification")
        XCTAssertEqual(model.peftTaskType, "TOKEN_CLS")
        XCTAssertEqual(model.store.valueArray("classifier.weight"), try file.floats("classifier.weight"), "the head is loaded, not new")
        let exported = model.exportConfig(base: try Self.configObject(file), labels: ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
        XCTAssertEqual(exported["architectures"] as? [String], ["BertForTokenClassification"])
        XCTAssertNil(exported["problem_type"])
        XCTAssertEqual((exported["id2label"] as? [String: String])?["3"], "B-LOC")
        XCTAssertThrowsError(try ModelRegistry.load(modelDirectory: directory, numLabels: 5, head: .sequenceClassification)) {
            XCTAssertTrue("\($0)".contains("pooler"), "\($0)")
        }
    }
}

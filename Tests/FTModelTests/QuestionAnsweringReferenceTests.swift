import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The extractive-QA head against PyTorch + transformers: a tiny random
/// `BertForQuestionAnswering` (no pooler, `qa_outputs` (2, C)) and `DistilBertForQuestionAnswering`
/// on a padded batch of pairs, one window labelled at [CLS] and one single-token answer,
/// scripts/reference/make_qa_reference.py. Tolerances are BERT's (`PyTorchReferenceTests`):
/// outputs and loss atol 1e-5, rtol 1e-5; gradients atol 1e-5, rtol 1e-4.
final class QuestionAnsweringReferenceTests: XCTestCase {
    func testBertMatchesPyTorch() throws {
        try check(fixture: "bert_qa_tiny_reference", family: .bert, architecture: "BertForQuestionAnswering")
    }

    func testDistilBertMatchesPyTorch() throws {
        try check(fixture: "distilbert_qa_tiny_reference", family: .distilBERT, architecture: "DistilBertForQuestionAnswering")
    }

    /// RoBERTa's QA head: no dropout (as BERT's), positions after the padding index, and the
    /// padding rows of both tables without gradient though the loss reaches padded positions.
    func testRobertaMatchesPyTorch() throws {
        try check(fixture: "roberta_qa_tiny_reference", family: .roberta, architecture: "RobertaForQuestionAnswering")
    }

    /// The per-position targets the task builds from start and end positions.
    static func targets(starts: [Int64], ends: [Int64], mask: [Int32], sequence T: Int) -> [Int32] {
        var targets = mask.map { $0 == 0 ? Int32(-100) : 0 }
        for b in starts.indices {
            targets[b * T + Int(starts[b])] |= QuestionAnsweringObjective.startBit
            targets[b * T + Int(ends[b])] |= QuestionAnsweringObjective.endBit
        }
        return targets
    }

    func check(fixture name: String, family: EncoderFamily, architecture: String) throws {
        let file = try TokenClassificationReferenceTests.fixture(name)
        let json = ConfigJSON(path: "fixture config", object: try TokenClassificationReferenceTests.configObject(file))
        let config = try ModelRegistry.encoderFamily(of: json).readConfig(json)
        XCTAssertEqual(config.family, family)
        XCTAssertThrowsError(try EncoderModel(config: config, numLabels: 3, head: .questionAnswering), "a QA head has two outputs")
        let model = try EncoderModel(config: config, numLabels: 2, head: .questionAnswering)
        XCTAssertEqual(model.config.family.names.classifier, "qa_outputs")
        XCTAssertFalse(model.store.views.contains { $0.name.hasPrefix(config.family.names.pooler) }, "a QA head has no pooler")
        XCTAssertEqual(try model.load(from: file), [], "the reference has qa_outputs")
        XCTAssertEqual(model.architectureName, architecture)
        XCTAssertEqual(model.peftTaskType, "QUESTION_ANS")
        XCTAssertFalse(model.computesFirstTokensOnly)

        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        let (B, T, C) = (shape[0], shape[1], config.hiddenSize)
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let types =
            file.info("input.token_type_ids") == nil ? [Int32](repeating: 0, count: B * T) : try file.int64s("input.token_type_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let targets = Self.targets(
            starts: try file.int64s("input.start_positions"), ends: try file.int64s("input.end_positions"), mask: mask, sequence: T)

        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: true, firstTokenOnly: true)
        XCTAssertNil(out.pooled)
        let hidden = Array(UnsafeBufferPointer(start: out.lastHiddenState, count: B * T * C))
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: B * T * 2))
        assertClose(hidden, try file.floats("output.last_hidden_state"), atol: 1e-5, rtol: 1e-5, "last_hidden_state")
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")

        let objective = QuestionAnsweringObjective()
        XCTAssertNoThrow(try objective.validate(targets: targets, batch: B, sequence: T))
        XCTAssertThrowsError(try objective.validate(targets: [0, 1, 0], batch: 1, sequence: 3), "no end position")
        XCTAssertThrowsError(try objective.validate(targets: [3, 3, 0], batch: 1, sequence: 3), "two starts")
        XCTAssertThrowsError(try objective.validate(targets: [3, 4, 0], batch: 1, sequence: 3), "an unknown code")
        var dLogits = [Float](repeating: 0, count: B * T * 2)
        let loss = objective.loss(outputs: logits, targets: targets, batch: B, sequence: T, dOutputs: &dLogits)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")

        model.store.zeroGradients()
        var ready: [Int] = []
        model.backward(dLogits: dLogits, gradientsReady: { ready.append($0) })
        XCTAssertEqual(ready.last, 0)
        XCTAssertEqual(ready, ready.sorted(by: >), "gradients become final from the head down")
        var checked = 0
        for view in model.store.views {
            let stored = model.config.family.names.checkpointName(view.name)
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + stored), atol: 1e-5, rtol: 1e-4, "grad." + stored)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every reference gradient is checked")
    }

    /// A directory whose `architectures` names a QA model loads with the QA head through the
    /// registry, and exports the same class.
    func testRegistryPicksTheQAHeadFromArchitectures() throws {
        let file = try TokenClassificationReferenceTests.fixture("bert_qa_tiny_reference")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bert-qa-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try XCTUnwrap(file.metadata["config"]).write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: file.path, toPath: directory.appendingPathComponent("model.safetensors").path)
        let model = try ModelRegistry.load(modelDirectory: directory, numLabels: 2)
        XCTAssertEqual(model.architectureName, "BertForQuestionAnswering")
        XCTAssertEqual(model.store.valueArray("qa_outputs.weight"), try file.floats("qa_outputs.weight"), "the head is loaded, not new")
        XCTAssertEqual(model.tensorNames.checkpointName("qa_outputs.bias"), "qa_outputs.bias", "the head has no bert. prefix")
        let exported = model.exportConfig(base: try TokenClassificationReferenceTests.configObject(file), labels: ["start", "end"])
        XCTAssertEqual(exported["architectures"] as? [String], ["BertForQuestionAnswering"])
        XCTAssertNil(exported["problem_type"])
    }
}

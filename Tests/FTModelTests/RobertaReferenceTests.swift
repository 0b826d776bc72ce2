import FTCore
import FTKernels
import FTModel
import Foundation
import TestSupport
import XCTest

/// The RoBERTa family against PyTorch + transformers: a tiny random
/// `RobertaForSequenceClassification` (intermediate 37, `<pad>` = 1, type_vocab_size 1) on a padded
/// batch of real texts encoded by its own byte-level BPE (scripts/reference/make_roberta_reference.py;
/// the token and QA heads are in TokenClassificationReferenceTests and QuestionAnsweringReferenceTests).
/// Tolerances are BERT's (`PyTorchReferenceTests`): outputs and loss atol 1e-5, rtol 1e-5;
/// gradients atol 1e-5, rtol 1e-4.
final class RobertaReferenceTests: XCTestCase {
    static var fixtures: URL {
        get throws { try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)) }
    }

    func testSequenceClassificationMatchesPyTorch() throws {
        let file = try DistilBertReferenceTests.fixture("roberta_tiny_reference")
        let data = try XCTUnwrap(file.metadata["config"]?.data(using: .utf8))
        let json = ConfigJSON(path: "fixture config", object: try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any]))
        XCTAssertEqual(try ModelRegistry.encoderFamily(of: json), .roberta)
        let config = try EncoderFamily.roberta.readConfig(json)
        XCTAssertEqual(config.padTokenId, 1)
        XCTAssertEqual(config.typeVocabSize, 1)
        XCTAssertEqual(config.maxSequenceLength, 38, "40 positions less pad_token_id + 1")
        let model = try EncoderModel(config: config, numLabels: 3)
        XCTAssertEqual(model.family.names.classifier, "classifier.out_proj")
        XCTAssertEqual(try model.load(from: file), [], "the reference has classifier.dense and classifier.out_proj")
        XCTAssertEqual(model.architectureName, "RobertaForSequenceClassification")
        let b = try DistilBertReferenceTests.batch(file)
        XCTAssertTrue(b.mask.contains(0) && b.ids.contains(1), "the reference must exercise padding with <pad> = 1")
        let out = try model.forward(
            inputIds: b.ids, tokenTypeIds: [Int32](repeating: 0, count: b.B * b.T), attentionMask: b.mask, batch: b.B, sequence: b.T,
            training: true)
        let hidden = Array(UnsafeBufferPointer(start: out.lastHiddenState, count: b.B * b.T * config.hiddenSize))
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: b.B * 3))
        var dLogits = [Float](repeating: 0, count: b.B * 3)
        let loss = SoftmaxCrossEntropy.forward(logits: logits, labels: b.labels, batch: b.B, classes: 3, dLogits: &dLogits)
        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        assertClose(hidden, try file.floats("output.last_hidden_state"), atol: 1e-5, rtol: 1e-5, "last_hidden_state")
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")
        var checked = 0
        for view in model.store.views where view.isTrainable {
            let stored = config.family.names.checkpointName(view.name)
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + stored), atol: 1e-5, rtol: 1e-4, "grad." + stored)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every reference gradient is checked")
        // The padding rows of both tables get nothing (nn.Embedding(padding_idx=1)).
        let C = config.hiddenSize
        XCTAssertEqual(Array(model.store.gradientArray(config.family.names.positionEmbeddings)[C..<(2 * C)]), [Float](repeating: 0, count: C))
        XCTAssertThrowsError(
            try model.forward(
                inputIds: [Int32](repeating: 5, count: 39), tokenTypeIds: [Int32](repeating: 0, count: 39),
                attentionMask: [Int32](repeating: 1, count: 39), batch: 1, sequence: 39, training: false)
        ) { XCTAssertTrue("\($0)".contains("38 positions"), "\($0)") }
    }

    /// transformers' `create_position_ids_from_input_ids` on a padded batch.
    func testPositionsSkipPadding() {
        let ids: [Int32] = [0, 7, 8, 2, 1, 1, 0, 9, 1, 2, 1, 1]
        var positions = [Int32](repeating: -1, count: ids.count)
        PaddingPositions.fill(positions: &positions, inputIds: ids, paddingIndex: 1, batch: 2, sequence: 6)
        XCTAssertEqual(positions, [2, 3, 4, 5, 1, 1, 2, 3, 1, 4, 1, 1])
    }

    /// The model directory the script saved (`save_pretrained`) loads through the registry with its
    /// head, its tokenizer through `EncoderTokenizers`, and the names map back to transformers'.
    func testRegistryLoadsTheModelDirectory() throws {
        let directory = try Self.fixtures.appendingPathComponent("roberta_tiny")
        let loaded = try ModelRegistry.load(modelDirectory: directory, numLabels: 3)
        let model = try XCTUnwrap(loaded as? EncoderModel)
        XCTAssertEqual(model.family, .roberta)
        XCTAssertEqual(model.maxSequenceLength, 38)
        let file = try SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(
            model.store.valueArray("classifier.out_proj.weight"), try file.floats("classifier.out_proj.weight"), "the head is loaded, not new")
        let names = model.tensorNames
        XCTAssertEqual(names.checkpointName("encoder.layer.1.output.dense.weight"), "roberta.encoder.layer.1.output.dense.weight")
        XCTAssertEqual(names.checkpointName("classifier.dense.bias"), "classifier.dense.bias")
        XCTAssertEqual(names.checkpointName("classifier.out_proj.bias"), "classifier.out_proj.bias")
        XCTAssertEqual(names.moduleName(ofTensor: "encoder.layer.0.attention.self.query.weight"), "roberta.encoder.layer.0.attention.self.query")
        // PEFT: LoRA's default targets are BERT's; `modules_to_save: [classifier]` wraps the whole
        // RobertaClassificationHead (dense and out_proj), nothing of the encoder.
        let lora = LoRAConfiguration()
        XCTAssertTrue(lora.isTrainable("classifier.dense.weight", names: names))
        XCTAssertTrue(lora.isTrainable("classifier.out_proj.bias", names: names))
        XCTAssertFalse(lora.isTrainable("encoder.layer.0.attention.self.query.weight", names: names))
        XCTAssertTrue(lora.targets(moduleName: names.moduleName(ofTensor: "encoder.layer.0.attention.self.value.weight")))
        let exported = model.exportConfig(base: [:], labels: ["a", "b", "c"])
        XCTAssertEqual(exported["architectures"] as? [String], ["RobertaForSequenceClassification"])

        let tokenizer = try XCTUnwrap(try EncoderTokenizers.load(modelDirectory: directory) as? RobertaTokenizer)
        XCTAssertEqual(tokenizer.padTokenId, 1)
        XCTAssertLessThanOrEqual(tokenizer.vocabularySize, model.vocabularySize)
        // The token head: BERT's `classifier`, no dense layer.
        let token = try XCTUnwrap(try ModelRegistry.load(modelDirectory: directory, numLabels: 4, head: .tokenClassification) as? EncoderModel)
        XCTAssertEqual(token.family.names.classifier, "classifier")
        XCTAssertFalse(token.store.views.contains { $0.name.hasPrefix("classifier.dense") })
    }

    /// XLM-RoBERTa is read as the same architecture under its own model type and class names.
    func testXLMRobertaConfigIsReadAsRoberta() throws {
        var object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("roberta_tiny/config.json")))
                as? [String: Any])
        object["model_type"] = "xlm-roberta"
        let json = ConfigJSON(path: "xlm config", object: object)
        let family = try ModelRegistry.encoderFamily(of: json)
        XCTAssertEqual(family, .xlmRoBERTa)
        XCTAssertEqual(try family.readConfig(json).family, .xlmRoBERTa)
        XCTAssertEqual(family.architecture(for: .tokenClassification), "XLMRobertaForTokenClassification")
        object["model_type"] = nil
        object["architectures"] = ["XLMRobertaForSequenceClassification"]
        XCTAssertEqual(try ModelRegistry.encoderFamily(of: ConfigJSON(path: "xlm config", object: object)), .xlmRoBERTa)
        object["architectures"] = ["RobertaForMaskedLM"]
        XCTAssertEqual(try ModelRegistry.encoderFamily(of: ConfigJSON(path: "roberta config", object: object)), .roberta)
    }
}

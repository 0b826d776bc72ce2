import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The second encoder family against PyTorch + transformers: a tiny random
/// `DistilBertForSequenceClassification` (hidden_dim 37, padded batch), with learned and with
/// sinusoidal positions, and the same model under PEFT's LoRA on `q_lin`/`v_lin`
/// (scripts/reference/make_distilbert_reference.py, make_distilbert_lora_reference.py).
/// Tolerances are BERT's (`PyTorchReferenceTests`).
final class DistilBertReferenceTests: XCTestCase {
    static func fixture(_ name: String) throws -> SafeTensorsFile {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"),
            "\(name) missing from the test bundle")
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(file.metadata["format_version"], "1", "reference format changed: regenerate it and update the test")
        return file
    }

    /// The fixture's `config.json`, read as a model directory's would be (the registry picks DistilBERT).
    static func config(_ file: SafeTensorsFile) throws -> EncoderConfig {
        let data = try XCTUnwrap(file.metadata["config"]?.data(using: .utf8))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let json = ConfigJSON(path: "fixture config", object: object)
        let family = try ModelRegistry.encoderFamily(of: json)
        XCTAssertEqual(family, .distilBERT)
        return try family.readConfig(json)
    }

    struct Batch {
        let ids: [Int32], mask: [Int32], labels: [Int32], B: Int, T: Int
    }

    static func batch(_ file: SafeTensorsFile) throws -> Batch {
        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        return Batch(
            ids: try file.int64s("input.input_ids").map(Int32.init), mask: try file.int64s("input.attention_mask").map(Int32.init),
            labels: try file.int64s("input.labels").map(Int32.init), B: shape[0], T: shape[1])
    }

    /// Logits and loss of a training forward; backward of the cross-entropy into the store.
    func step(_ model: EncoderModel, _ b: Batch) throws -> (hidden: [Float], logits: [Float], loss: Float) {
        let types = [Int32](repeating: 0, count: b.B * b.T)
        let out = try model.forward(inputIds: b.ids, tokenTypeIds: types, attentionMask: b.mask, batch: b.B, sequence: b.T, training: true)
        let hidden = Array(UnsafeBufferPointer(start: out.lastHiddenState, count: b.B * b.T * model.config.hiddenSize))
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: b.B * 3))
        var dLogits = [Float](repeating: 0, count: b.B * 3)
        let loss = SoftmaxCrossEntropy.forward(logits: logits, labels: b.labels, batch: b.B, classes: 3, dLogits: &dLogits)
        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        return (hidden, logits, loss)
    }

    func check(fixture name: String, positions: EncoderConfig.PositionEncoding) throws {
        let file = try Self.fixture(name)
        let config = try Self.config(file)
        XCTAssertEqual(config.positionEncoding, positions)
        XCTAssertEqual(config.intermediateSize, 37)
        let model = try EncoderModel(config: config, numLabels: 3)
        XCTAssertEqual(try model.load(from: file), [], "the reference has pre_classifier and classifier")
        let b = try Self.batch(file)
        XCTAssertTrue(b.mask.contains(0), "the reference must exercise padding")
        let (hidden, logits, loss) = try step(model, b)
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
    }

    func testLearnedPositionsMatchPyTorch() throws {
        try check(fixture: "distilbert_tiny_reference", positions: .learned)
    }

    /// The sinusoids fttrain computes equal the table transformers saved, and they stay frozen.
    func testSinusoidalPositionsMatchPyTorch() throws {
        try check(fixture: "distilbert_tiny_sinusoidal_reference", positions: .sinusoidal)
        let file = try Self.fixture("distilbert_tiny_sinusoidal_reference")
        let config = try Self.config(file)
        let fresh = try EncoderModel(config: config, numLabels: 3)
        let name = config.family.names.positionEmbeddings
        assertClose(fresh.store.valueArray(name), try file.floats("distilbert." + name), atol: 1e-6, rtol: 0, "sinusoids")
        XCTAssertFalse(fresh.store.isTrainable(name))
        fresh.setTrainable { _ in true }
        XCTAssertFalse(fresh.store.isTrainable(name), "a fixed table never trains")
    }

    func testLoRAMatchesPEFT() throws {
        let file = try Self.fixture("distilbert_lora_tiny_reference")
        let fixtures = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let directory = fixtures.appendingPathComponent("distilbert_lora_tiny_adapter")
        let adapter = try PEFTAdapter.read(directory: directory)
        let lora = try XCTUnwrap(adapter.lora)
        XCTAssertEqual(Set(lora.targetModules), ["q_lin", "v_lin"])
        let config = try Self.config(file)
        let model = try EncoderModel(config: config, numLabels: 3, peft: PEFTSetup(lora: lora))
        XCTAssertEqual(try model.load(from: file), [])
        try adapter.apply(to: model, source: directory.path)
        let names = config.family.names
        model.setTrainable { lora.isTrainable($0, names: names) }
        XCTAssertEqual(model.peft?.lora?.targets[0], [.query, .value])
        // PEFT's `modules_to_save` suffix match wraps pre_classifier beside classifier.
        XCTAssertEqual(model.trainableParameterCount.description, file.metadata["trainable_line"])

        let (_, logits, loss) = try step(model, try Self.batch(file))
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")
        var checked = 0
        for view in model.store.views where view.isTrainable {
            let saved = PEFTAdapter.savedName(view.name, lora: lora, names: names)
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + saved), atol: 1e-5, rtol: 1e-4, saved)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every reference gradient is checked")

        // B = 0 gives the base model (PEFT's adapter disabled).
        for (l, module) in try XCTUnwrap(model.peft?.lora).branches {
            let b = LoRALayers.bName(layer: l, module: module, names: names)
            model.store.value(b).update(repeating: 0, count: model.store.view(b).count)
        }
        let (_, base, _) = try step(model, try Self.batch(file))
        assertClose(base, try file.floats("output.base_logits"), atol: 1e-5, rtol: 1e-5, "base logits")
    }

    /// A model directory of the family loads through the registry, and its export names the
    /// tensors as `DistilBertForSequenceClassification` does.
    func testRegistryLoadsADistilBertDirectory() throws {
        let file = try Self.fixture("distilbert_tiny_reference")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("distilbert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try XCTUnwrap(file.metadata["config"]).write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: file.path, toPath: directory.appendingPathComponent("model.safetensors").path)
        let model = try EncoderModel.load(modelDirectory: directory, numLabels: 3)
        XCTAssertEqual(model.family, .distilBERT)
        XCTAssertEqual(model.store.valueArray("classifier.weight"), try file.floats("classifier.weight"), "the head is loaded, not new")
        XCTAssertEqual(model.tensorNames.checkpointName("transformer.layer.1.ffn.lin2.weight"), "distilbert.transformer.layer.1.ffn.lin2.weight")
        XCTAssertEqual(model.tensorNames.checkpointName("pre_classifier.bias"), "pre_classifier.bias")
    }
}

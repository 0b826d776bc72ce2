import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// LoRA against PyTorch + PEFT on a tiny random BERT (scripts/reference/make_lora_reference.py):
/// LoRA on query and value (the first and last thirds of the fused QKV product) and on every dense
/// layer (`dense`: both output projections, the intermediate one and the pooler),
/// `bias="lora_only"`, the head saved; B moved away from 0.
/// The base weights come from the reference file, the adapter from the directory PEFT wrote.
///
/// Tolerances as for the plain encoder (`PyTorchReferenceTests`): logits and loss `atol 1e-5,
/// rtol 1e-5`; gradients `atol 1e-5, rtol 1e-4`.
final class LoRAReferenceTests: XCTestCase {
    static let referenceFormat = "1"

    struct Reference {
        let file: SafeTensorsFile
        let adapter: PEFTAdapter
        let adapterDirectory: URL
        let config: EncoderConfig
        let ids: [Int32], types: [Int32], mask: [Int32], labels: [Int32]
        let batch: Int, sequence: Int
    }

    static func reference() throws -> Reference {
        let fixtures = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "fixtures missing")
        let file = try SafeTensorsFile(path: fixtures.appendingPathComponent("lora_tiny_reference.safetensors").path)
        XCTAssertEqual(file.metadata["format_version"], referenceFormat, "reference format changed: regenerate and update the test")
        let config = try JSONDecoder().decode(EncoderConfig.self, from: XCTUnwrap(file.metadata["config"]?.data(using: .utf8)))
        let directory = fixtures.appendingPathComponent("lora_tiny_adapter")
        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        return Reference(
            file: file, adapter: try PEFTAdapter.read(directory: directory), adapterDirectory: directory,
            config: config,
            ids: try file.int64s("input.input_ids").map(Int32.init),
            types: try file.int64s("input.token_type_ids").map(Int32.init),
            mask: try file.int64s("input.attention_mask").map(Int32.init),
            labels: try file.int64s("input.labels").map(Int32.init), batch: shape[0], sequence: shape[1])
    }

    /// The base model of the reference with `lora` attached and the adapter loaded, frozen PEFT's way.
    static func model(_ r: Reference, lora: LoRAConfiguration? = nil) throws -> EncoderModel {
        let lora = try XCTUnwrap(lora ?? r.adapter.lora)
        let model = try EncoderModel(config: r.config, numLabels: 3, peft: PEFTSetup(lora: lora))
        XCTAssertEqual(try model.load(from: r.file), [])
        try r.adapter.apply(to: model, source: r.adapterDirectory.path)
        model.setTrainable { lora.isTrainable($0) }
        return model
    }

    func logits(_ model: EncoderModel, _ r: Reference, training: Bool = false) throws -> [Float] {
        let out = try model.forward(
            inputIds: r.ids, tokenTypeIds: r.types, attentionMask: r.mask,
            batch: r.batch, sequence: r.sequence, training: training)
        return Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: r.batch * 3))
    }

    func testAdapterConfigIsReadAsPEFTWroteIt() throws {
        let lora = try XCTUnwrap(Self.reference().adapter.lora)
        XCTAssertEqual(lora.rank, 4)
        XCTAssertEqual(lora.alpha, 8)
        XCTAssertEqual(lora.scaling, 2)
        XCTAssertEqual(lora.bias, .loraOnly)
        XCTAssertEqual(Set(lora.targetModules), ["query", "value", "dense"])
        XCTAssertTrue(lora.modulesToSave.contains("classifier"), "SEQ_CLS adds the head to modules_to_save")
    }

    func testLogitsLossAndGradientsMatchPEFT() throws {
        let r = try Self.reference()
        let model = try Self.model(r)
        // LoRA on query and value but not key; on every dense layer through the suffix match.
        XCTAssertEqual(model.peft?.lora?.targets[0], [.query, .value, .attentionOutput, .intermediate, .output])
        XCTAssertEqual(model.peft?.lora?.targets[2], [.pooler])
        XCTAssertEqual(model.trainableParameterCount.trainable, Int(r.file.metadata["trainable_params"] ?? ""))
        XCTAssertEqual(model.trainableParameterCount.all, Int(r.file.metadata["all_params"] ?? ""))
        XCTAssertEqual(
            model.trainableParameterCount.description,
            "trainable params: 3,843 || all params: 25,414 || trainable%: 15.1216")

        let logits = try logits(model, r, training: true)
        assertClose(logits, try r.file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        var dLogits = [Float](repeating: 0, count: r.batch * 3)
        let loss = SoftmaxCrossEntropy.forward(logits: logits, labels: r.labels, batch: r.batch, classes: 3, dLogits: &dLogits)
        assertClose([loss], try r.file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")

        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        let lora = try XCTUnwrap(r.adapter.lora)
        var checked = 0
        for view in model.store.trainableViews {
            let name = "grad." + PEFTAdapter.savedName(view.name, lora: lora)
            assertClose(model.store.gradientArray(view.name), try r.file.floats(name), atol: 1e-5, rtol: 1e-4, name)
            checked += 1
        }
        XCTAssertEqual(
            checked, r.file.tensors.filter { $0.name.hasPrefix("grad.") }.count,
            "every trainable tensor of PEFT is trainable here, and no other")
        XCTAssertNil(model.store.gradient("encoder.layer.0.attention.self.key.bias"), "key is not wrapped: its bias stays frozen")
        XCTAssertNotNil(model.store.gradient("encoder.layer.0.attention.self.value.bias"))
    }

    func testDisabledAdapterAndRSLoRAMatchPEFT() throws {
        let r = try Self.reference()
        var rslora = try XCTUnwrap(r.adapter.lora)
        rslora.useRSLoRA = true
        XCTAssertEqual(rslora.scaling, 4, "alpha / sqrt(r) = 8 / 2")
        assertClose(
            try logits(Self.model(r, lora: rslora), r), try r.file.floats("output.rslora_logits"),
            atol: 1e-5, rtol: 1e-5, "rslora logits")
        let base = try EncoderModel(config: r.config, numLabels: 3)
        try base.load(from: r.file)
        assertClose(try logits(base, r), try r.file.floats("output.base_logits"), atol: 1e-5, rtol: 1e-5, "base logits")
    }

    /// What fttrain writes for the reference model is what PEFT wrote: the same tensor names and
    /// values, and a config PEFT's fields read back the same.
    func testSavedAdapterHasPEFTsNamesAndValues() throws {
        let r = try Self.reference()
        let model = try Self.model(r)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try PEFTAdapter.write(model: model, to: directory, baseModelName: nil)
        let ours = try SafeTensorsFile(path: directory.appendingPathComponent(PEFTAdapter.weightsFile).path)
        let peft = try SafeTensorsFile(path: r.adapterDirectory.appendingPathComponent(PEFTAdapter.weightsFile).path)
        XCTAssertEqual(Set(ours.tensors.map(\.name)), Set(peft.tensors.map(\.name)))
        for tensor in peft.tensors {
            XCTAssertEqual(try ours.floats(tensor.name), try peft.floats(tensor.name), tensor.name)
            XCTAssertEqual(ours.info(tensor.name)?.shape, tensor.shape, tensor.name)
        }
        let reread = try PEFTAdapter.read(directory: directory)
        XCTAssertEqual(reread.lora, r.adapter.lora)
    }
}

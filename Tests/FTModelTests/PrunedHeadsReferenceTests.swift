import FTCore
import FTKernels
import FTModel
import Foundation
import TestSupport
import XCTest

/// Per-layer head counts (`pruned_heads`) and the head-mask gradient against transformers 4.57
/// (reference written by scripts/reference/make_pruned_bert_reference.py: a tiny BERT pruned by
/// transformers' own `prune_heads({0: [1, 3], 1: [2]})` and saved with `save_pretrained`).
///
/// Tolerances as `PyTorchReferenceTests` (fp32, other summation orders): outputs and loss
/// `atol 1e-5, rtol 1e-5`; gradients `atol 1e-5, rtol 1e-4`.
final class PrunedHeadsReferenceTests: XCTestCase {
    static let referenceFormat = "1"

    private func fixture(_ name: String, _ ext: String? = nil) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"), "\(name) missing from the test bundle")
    }

    private func inputs(_ file: SafeTensorsFile) throws -> (ids: [Int32], types: [Int32], mask: [Int32], labels: [Int32], B: Int, T: Int) {
        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        return (
            try file.int64s("input.input_ids").map(Int32.init), try file.int64s("input.token_type_ids").map(Int32.init),
            try file.int64s("input.attention_mask").map(Int32.init), try file.int64s("input.labels").map(Int32.init),
            shape[0], shape[1]
        )
    }

    /// The directory transformers saved loads as it is (smaller q/k/v and output tensors), and
    /// its forward and backward match the pruned PyTorch model's.
    func testPrunedDirectoryFromTransformersMatchesPyTorch() throws {
        let file = try SafeTensorsFile(path: try fixture("bert_tiny_pruned_reference", "safetensors").path)
        XCTAssertEqual(file.metadata["format_version"], Self.referenceFormat, "regenerate the reference and update the test")
        let model = try EncoderModel.load(modelDirectory: try fixture("bert_tiny_pruned"), numLabels: 3)
        XCTAssertEqual(model.config.prunedHeads, [0: [1, 3], 1: [2]])
        XCTAssertEqual((0..<2).map(model.config.heads), [2, 3])
        XCTAssertEqual(model.store.view("encoder.layer.0.attention.self.query.weight").shape, [16, 32])
        XCTAssertEqual(model.store.view("encoder.layer.1.attention.output.dense.weight").shape, [32, 24])
        let x = try inputs(file)
        XCTAssertTrue(x.mask.contains(0), "the reference must exercise padding")

        for firstTokenOnly in [false, true] {
            let out = try model.forward(
                inputIds: x.ids, tokenTypeIds: x.types, attentionMask: x.mask, batch: x.B, sequence: x.T,
                training: true, firstTokenOnly: firstTokenOnly)
            let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: x.B * 3))
            assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
            // Removing heads is masking them: transformers' head_mask run of the unpruned model.
            assertClose(logits, try file.floats("output.masked_logits"), atol: 1e-5, rtol: 1e-5, "masked logits")
            var dLogits = [Float](repeating: 0, count: x.B * 3)
            let loss = SoftmaxCrossEntropy.forward(logits: logits, labels: x.labels, batch: x.B, classes: 3, dLogits: &dLogits)
            assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")
            model.store.zeroGradients()
            model.backward(dLogits: dLogits)
            for view in model.store.views {
                let stored = view.name.hasPrefix("classifier.") ? view.name : "bert." + view.name
                assertClose(
                    model.store.gradientArray(view.name), try file.floats("grad." + stored), atol: 1e-5, rtol: 1e-4,
                    "grad.\(stored) (first token only: \(firstTokenOnly))")
            }
        }

        // INT8 inference runs the narrower products too, close to float32.
        model.quantizeForInference()
        let int8 = try model.forward(inputIds: x.ids, tokenTypeIds: x.types, attentionMask: x.mask, batch: x.B, sequence: x.T, training: false)
        let quantized = Array(UnsafeBufferPointer(start: try XCTUnwrap(int8.logits), count: x.B * 3))
        assertClose(quantized, try file.floats("output.logits"), atol: 0.1, rtol: 0.1, "INT8 logits of the pruned model")
    }

    /// ∂loss/∂head_mask of the unpruned model, from one backward pass, equals autograd's.
    func testHeadMaskGradientMatchesPyTorch() throws {
        let file = try SafeTensorsFile(path: try fixture("bert_tiny_pruned_reference", "safetensors").path)
        var config = try EncoderConfig.load(path: try fixture("bert_tiny_pruned").appendingPathComponent("config.json").path)
        config.prunedHeads = [:]
        let model = try EncoderModel(config: config, numLabels: 3)
        for view in model.store.views {
            let stored = view.name.hasPrefix("classifier.") ? view.name : "bert." + view.name
            let values = try file.floats("unpruned." + stored)
            XCTAssertEqual(values.count, view.count, stored)
            model.store.value(view.name).update(from: values, count: view.count)
        }
        let x = try inputs(file)
        let expected = try file.floats("output.head_mask_grad")  // (layers, heads)
        for firstTokenOnly in [false, true] {
            model.recordHeadMaskGradients()
            let out = try model.forward(
                inputIds: x.ids, tokenTypeIds: x.types, attentionMask: x.mask, batch: x.B, sequence: x.T,
                training: true, firstTokenOnly: firstTokenOnly)
            var dLogits = [Float](repeating: 0, count: x.B * 3)
            _ = SoftmaxCrossEntropy.forward(logits: try XCTUnwrap(out.logits), labels: x.labels, batch: x.B, classes: 3, dLogits: &dLogits)
            model.backward(dLogits: dLogits)
            let gradients = try XCTUnwrap(model.headMaskGradients)
            XCTAssertEqual(gradients.map(\.count), [4, 4])
            assertClose(gradients.flatMap { $0 }, expected, atol: 1e-5, rtol: 1e-4, "head mask gradient (first token only: \(firstTokenOnly))")
            XCTAssertTrue(expected.contains { abs($0) > 1e-3 }, "the reference gradient is not trivially zero")
        }
        model.headMaskGradients = nil
    }

    /// A `pruned_heads` that cannot describe the model is an error naming the file and the layer.
    func testBadPrunedHeadsAreRejected() throws {
        let source = try fixture("bert_tiny_pruned")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pruned-heads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(Any, String)] = [
            (["0": [0, 1, 2, 3]], "every head of layer 0"),
            (["5": [1]], "layer 5"),
            (["1": [4]], "head 4"),
            (["1": [2, 2]], "repeats"),
            ([1, 2], "must be an object"),
            (["x": [1]], "not a layer number"),
            (["0": [1], "1": [2]], "shape"),  // three heads in layer 0: disagrees with the weights
        ]
        for (value, message) in cases {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.copyItem(at: source, to: directory)
            let configURL = directory.appendingPathComponent("config.json")
            var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            object["pruned_heads"] = value
            try JSONSerialization.data(withJSONObject: object).write(to: configURL)
            XCTAssertThrowsError(try EncoderModel.load(modelDirectory: directory, numLabels: 3), "\(value)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(value): \(error)")
            }
        }
    }
}

import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Matches a tiny random BERT against PyTorch + transformers, tensor by tensor
/// (reference file written by scripts/reference/make_bert_reference.py).
///
/// Tolerances (fp32, different summation orders): outputs and loss `atol 1e-5, rtol 1e-5`;
/// gradients `atol 1e-5, rtol 1e-4` — about 1e-5 relative on the gradients' scale, as the
/// issue asks. A wrong term is off by orders of magnitude more.
final class PyTorchReferenceTests: XCTestCase {
    static let referenceFormat = "1"

    func testForwardAndBackwardMatchPyTorch() throws {
        let url = try XCTUnwrap(
            Bundle.module.url(
                forResource: "bert_tiny_reference", withExtension: "safetensors",
                subdirectory: "Fixtures"), "reference file missing from the test bundle")
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(
            file.metadata["format_version"], Self.referenceFormat,
            "reference file format changed: regenerate it and update the test")
        let configJSON = try XCTUnwrap(file.metadata["config"]?.data(using: .utf8))
        let config = try JSONDecoder().decode(EncoderConfig.self, from: configJSON)
        let labels = try file.int64s("input.labels").map(Int32.init)
        let model = try EncoderModel(config: config, numLabels: 3)
        let missing = try model.load(from: file)  // names carry the "bert." prefix here
        XCTAssertEqual(missing, [], "the reference has a classifier head")

        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let types = try file.int64s("input.token_type_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        let (B, T, C) = (shape[0], shape[1], config.hiddenSize)
        XCTAssertTrue(mask.contains(0), "the reference must exercise padding")

        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask,
            batch: B, sequence: T, training: true)
        let hidden = Array(UnsafeBufferPointer(start: out.lastHiddenState, count: B * T * C))
        let pooled = Array(UnsafeBufferPointer(start: out.pooled, count: B * C))
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: B * 3))
        assertClose(hidden, try file.floats("output.last_hidden_state"), atol: 1e-5, rtol: 1e-5, "last_hidden_state")
        assertClose(pooled, try file.floats("output.pooled"), atol: 1e-5, rtol: 1e-5, "pooled")
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")

        var dLogits = [Float](repeating: 0, count: B * 3)
        let loss = SoftmaxCrossEntropy.forward(logits: logits, labels: labels, batch: B, classes: 3, dLogits: &dLogits)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")

        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        var checked = 0
        for view in model.store.views {
            let stored = view.name.hasPrefix("classifier.") ? view.name : "bert." + view.name
            let expected = try file.floats("grad." + stored)
            assertClose(model.store.gradientArray(view.name), expected, atol: 1e-5, rtol: 1e-4, "grad." + stored)
            checked += 1
        }
        let referenceGradients = file.tensors.filter { $0.name.hasPrefix("grad.") }.count
        XCTAssertEqual(checked, referenceGradients, "every parameter gradient in the reference is checked")
    }
}

import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Regression and multi-label heads against PyTorch + transformers: a tiny random
/// `BertForSequenceClassification` with `problem_type` regression (1 output, MSE on the squeezed
/// logit; 3 outputs, MSE over every entry) and multi_label_classification (4 labels, BCE with logits; rows with none, one and
/// several labels), scripts/reference/make_problem_type_reference.py. Tolerances are BERT's
/// (`PyTorchReferenceTests`): logits and loss atol 1e-5, rtol 1e-5; gradients atol 1e-5, rtol 1e-4.
final class ProblemTypeReferenceTests: XCTestCase {
    static func fixture(_ name: String) throws -> SafeTensorsFile {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"),
            "\(name) missing from the test bundle")
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(file.metadata["format_version"], "1", "reference format changed: regenerate it and update the test")
        return file
    }

    func testRegressionMatchesPyTorch() throws {
        let file = try Self.fixture("bert_regression_tiny_reference")
        let targets = try file.floats("input.labels")
        try check(
            file, problemType: "regression", labels: 1, objective: try RegressionObjective(outputs: 1),
            targets: targets.map(RegressionObjective.target))
    }

    /// `num_labels: 3` regression: transformers' `MSELoss()(logits, labels)`, the mean over B·3.
    func testThreeOutputRegressionMatchesPyTorch() throws {
        let file = try Self.fixture("bert_regression3_tiny_reference")
        let targets = try file.floats("input.labels")
        XCTAssertEqual(try XCTUnwrap(file.info("input.labels")).shape, [4, 3])
        try check(
            file, problemType: "regression", labels: 3, objective: try RegressionObjective(outputs: 3),
            targets: targets.map(RegressionObjective.target))
    }

    func testMultiLabelMatchesPyTorch() throws {
        let file = try Self.fixture("bert_multilabel_tiny_reference")
        let targets = try file.floats("input.labels").map { Int32($0) }
        XCTAssertTrue(targets.contains(1) && targets.contains(0))
        try check(
            file, problemType: "multi_label_classification", labels: 4, objective: try MultiLabelClassificationObjective(classes: 4), targets: targets
        )
    }

    func check(_ file: SafeTensorsFile, problemType: String, labels L: Int, objective: any TaskObjective, targets: [Int32]) throws {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: XCTUnwrap(file.metadata["config"]?.data(using: .utf8))) as? [String: Any])
        XCTAssertEqual(object["problem_type"] as? String, problemType)
        let json = ConfigJSON(path: "fixture config", object: object)
        let config = try ModelRegistry.encoderFamily(of: json).readConfig(json)
        let model = try EncoderModel(config: config, numLabels: L)
        XCTAssertEqual(try model.load(from: file), [], "the reference has the classifier")
        model.problemType = problemType
        XCTAssertEqual(model.exportConfig(base: object, labels: (0..<L).map { "l\($0)" })["problem_type"] as? String, problemType)

        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        let (B, T) = (shape[0], shape[1])
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let types = try file.int64s("input.token_type_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        XCTAssertTrue(mask.contains(0), "the reference must exercise padding")
        XCTAssertEqual(objective.targetCount(batch: B, sequence: T), targets.count)
        XCTAssertNoThrow(try objective.validate(targets: targets, batch: B, sequence: T))

        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: true, firstTokenOnly: false)
        let logits = Array(UnsafeBufferPointer(start: try XCTUnwrap(out.logits), count: B * L))
        assertClose(logits, try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        var dLogits = [Float](repeating: 0, count: objective.outputCount(batch: B, sequence: T))
        let loss = objective.loss(outputs: logits, targets: targets, batch: B, sequence: T, dOutputs: &dLogits)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")

        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        var checked = 0
        for view in model.store.views {
            let stored = config.family.names.checkpointName(view.name)
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + stored), atol: 1e-5, rtol: 1e-4, "grad." + stored)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every reference gradient is checked")
    }

    /// The losses' gradients by central differences on random logits (Double accumulation).
    func testLossGradientsByFiniteDifferences() throws {
        var rng = SeededRNG(seed: 11)
        let B = 3, L = 4
        let logits = (0..<(B * L)).map { _ in rng.nextUniform() * 6 - 3 }
        let multi = try MultiLabelClassificationObjective(classes: L)
        let regression = try RegressionObjective(outputs: L)
        let cases: [(any TaskObjective, [Int32])] = [
            (multi, (0..<(B * L)).map { Int32($0 * 7 % 3 == 0 ? 1 : 0) }),
            (regression, (0..<(B * L)).map { RegressionObjective.target(Float($0) / 4 - 1) }),
        ]
        for (objective, targets) in cases {
            var d = [Float](repeating: 0, count: B * L), scratch = d
            _ = objective.loss(outputs: logits, targets: targets, batch: B, sequence: 1, dOutputs: &d)
            for i in 0..<(B * L) {
                var plus = logits, minus = logits
                let h: Float = 1e-2
                plus[i] += h
                minus[i] -= h
                let numeric =
                    (Double(objective.loss(outputs: plus, targets: targets, batch: B, sequence: 1, dOutputs: &scratch))
                        - Double(objective.loss(outputs: minus, targets: targets, batch: B, sequence: 1, dOutputs: &scratch))) / (2 * Double(h))
                XCTAssertEqual(Double(d[i]), numeric, accuracy: 1e-3 + 1e-2 * abs(numeric), "\(type(of: objective)) logit \(i)")
            }
        }
    }

    /// Targets the heads cannot score are refused by name.
    func testBadTargetsAreRefused() throws {
        let multi = try MultiLabelClassificationObjective(classes: 2)
        XCTAssertThrowsError(try multi.validate(targets: [0, 2], batch: 1, sequence: 1)) {
            XCTAssertTrue("\($0)".contains("neither 0 nor 1"), "\($0)")
        }
        XCTAssertThrowsError(try multi.validate(targets: [0], batch: 1, sequence: 1))
        let regression = try RegressionObjective()
        XCTAssertThrowsError(try regression.validate(targets: [RegressionObjective.target(.nan)], batch: 1, sequence: 1)) {
            XCTAssertTrue("\($0)".contains("not a finite number"), "\($0)")
        }
        XCTAssertEqual(RegressionObjective.value(RegressionObjective.target(-2.75)), -2.75)
        XCTAssertThrowsError(try RegressionObjective(outputs: 0))
        XCTAssertThrowsError(try MultiLabelClassificationObjective(classes: 0))
    }
}

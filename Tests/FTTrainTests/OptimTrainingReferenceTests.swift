import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// Eight optimizer steps of a tiny BERT classifier against PyTorch + transformers' Trainer
/// semantics (file written by scripts/reference/make_training_reference.py, which also checks
/// that the real `transformers.Trainer` produces the same numbers): AdamW with HF's decay groups,
/// linear schedule with warmup 2 of 8, accumulation 2 (sum of micro-batch means, as the Trainer
/// does for this model), clipping at 1.0 — active on 5 of the 8 steps.
///
/// Tolerances (fp32, different summation orders in forward/backward): losses and grad norms
/// `rtol 1e-5`; learning rates exactly (same Double arithmetic); parameters after 8 steps
/// `atol 1e-5`. Measured on x86-64 (Linux, OpenBLAS): losses ≤ 1.1e-7 relative, grad norms
/// ≤ 1.4e-7 relative, parameters ≤ 1.6e-6 absolute. What the parameter check catches (the
/// same run in PyTorch with one mistake, max |Δ|): schedule off by one step 4e-3, accumulated
/// gradient divided by the accumulation steps 2e-3, decay on biases and layer norms too 6e-5;
/// no decay at all (6e-6) is below it and left to `OptimAdamWTests`.
final class OptimTrainingReferenceTests: XCTestCase {
    static let referenceFormat = "1"

    func testEightStepsMatchPyTorchTrainer() throws {
        let file = try OptimFixtures.open("training_reference")
        XCTAssertEqual(
            file.metadata["format_version"], Self.referenceFormat,
            "reference file format changed: regenerate it and update the test")
        let config = try JSONDecoder().decode(EncoderConfig.self, from: try XCTUnwrap(file.metadata["config"]?.data(using: .utf8)))
        let training = try XCTUnwrap(
            JSONSerialization.jsonObject(
                with: try XCTUnwrap(file.metadata["training"]?.data(using: .utf8))) as? [String: Any])
        let steps = try XCTUnwrap(training["steps"] as? Int)
        let accumulation = try XCTUnwrap(training["gradient_accumulation_steps"] as? Int)
        XCTAssertEqual(training["accumulation_scaling"] as? String, "sum_of_micro_batch_means")

        let model = try EncoderModel(config: config, numLabels: 3)
        XCTAssertEqual(try model.load(from: file), [], "the reference has a classifier head")
        let schedule = LearningRateSchedule(
            type: try XCTUnwrap(SchedulerType(rawValue: try XCTUnwrap(training["lr_scheduler_type"] as? String))),
            baseLearningRate: try XCTUnwrap(training["learning_rate"] as? Double),
            warmupSteps: try XCTUnwrap(training["warmup_steps"] as? Int), trainingSteps: steps)
        let maxGradNorm = try XCTUnwrap(training["max_grad_norm"] as? Double)
        let driver = try ClassificationStep(
            model: model, schedule: schedule, weightDecay: try XCTUnwrap(training["weight_decay"] as? Double),
            beta1: try XCTUnwrap(training["adam_beta1"] as? Double), beta2: try XCTUnwrap(training["adam_beta2"] as? Double),
            epsilon: try XCTUnwrap(training["adam_epsilon"] as? Double), maxGradNorm: maxGradNorm)

        let microLosses = try file.floats("step.micro_loss", shape: [steps, accumulation])
        let norms = try file.floats("step.grad_norm", shape: [steps])
        let lrs = try OptimFixtures.doubles(file, "step.lr")
        let trainerLosses = try file.floats("trainer.loss", shape: [steps])
        XCTAssertTrue(
            norms.contains { $0 > Float(maxGradNorm) } && norms.contains { $0 <= Float(maxGradNorm) },
            "the reference must clip on some steps and not on others")

        var worstLoss: Float = 0, worstNorm: Float = 0
        for s in 0..<steps {
            let batches = try (0..<accumulation).map { try readBatch(file, index: s * accumulation + $0) }
            let result = try driver.step(batches)
            let expectedLoss = microLosses[(s * accumulation)..<((s + 1) * accumulation)].reduce(0, +) / Float(accumulation)
            XCTAssertEqual(result.step, s + 1)
            XCTAssertEqual(result.learningRate, lrs[s], "learning rate of step \(s)")  // exact
            assertClose([result.loss], [expectedLoss], atol: 0, rtol: 1e-5, "loss of step \(s)")
            assertClose([result.loggedLoss], [trainerLosses[s]], atol: 0, rtol: 1e-5, "Trainer-logged loss of step \(s)")
            assertClose([result.gradientNorm], [norms[s]], atol: 0, rtol: 1e-5, "grad norm of step \(s)")
            worstLoss = max(worstLoss, abs(result.loss - expectedLoss) / expectedLoss)
            worstNorm = max(worstNorm, abs(result.gradientNorm - norms[s]) / norms[s])
        }

        var worstParameter: Float = 0
        for view in model.store.views {
            let stored = view.name.hasPrefix("classifier.") ? view.name : "bert." + view.name
            let expected = try file.floats("final." + stored, shape: view.shape)
            let actual = model.store.valueArray(view.name)
            assertClose(actual, expected, atol: 1e-5, rtol: 0, "final." + stored)
            worstParameter = max(worstParameter, maxAbsDifference(actual, expected))
        }
        print("training reference: max relative loss error \(worstLoss), grad norm \(worstNorm); max |Δparameter| \(worstParameter)")
    }

    private func readBatch(_ file: SafeTensorsFile, index k: Int) throws -> ClassificationStep.Batch {
        let shape = try XCTUnwrap(file.info("batch.\(k).input_ids")).shape
        func ints(_ key: String) throws -> [Int32] { try file.int64s("batch.\(k).\(key)").map { Int32($0) } }
        return ClassificationStep.Batch(
            inputIds: try ints("input_ids"), tokenTypeIds: try ints("token_type_ids"),
            attentionMask: try ints("attention_mask"), labels: try ints("labels"),
            sequenceLength: shape[1])
    }
}

/// The optimizer tests' reference files (Fixtures/optim, written by make_training_reference.py).
enum OptimFixtures {
    static func open(_ name: String) throws -> SafeTensorsFile {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/optim"),
            "\(name).safetensors missing from the test bundle")
        return try SafeTensorsFile(path: url.path)
    }

    /// An F64 tensor, exactly (`SafeTensorsFile.floats` would round it to Float).
    static func doubles(_ file: SafeTensorsFile, _ name: String) throws -> [Double] {
        let info = try file.requireInfo(name)
        XCTAssertEqual(info.dtype, .F64, "\(name) must be F64")
        return try file.withRawBytes(name) { raw in
            (0..<info.elementCount).map {
                Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))
            }
        }
    }
}

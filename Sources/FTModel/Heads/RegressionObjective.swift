import FTCore
import FTKernels

/// Regression, the loss of Hugging Face's `*ForSequenceClassification` with
/// `problem_type: regression`: `MSELoss()(logits.squeeze(), labels.squeeze())` for one output
/// (`num_labels: 1`), `MSELoss()(logits, labels)` for several — the mean over all B·L entries
/// either way.
///
/// The targets are floats; they ride on the `Int32` target path as their bit patterns
/// (`RegressionObjective.target(_:)`, `value(_:)`), L per example, so batching and the step are
/// the classifier's.
public struct RegressionObjective: TaskObjective {
    /// L: outputs per sequence (1 for a single score).
    public let outputs: Int

    /// - Throws: `ModelError.badInput` when `outputs` is not positive.
    public init(outputs: Int = 1) throws {
        guard outputs > 0 else { throw ModelError.badInput("a regression head needs at least one output") }
        self.outputs = outputs
    }

    /// The target entry carrying `value` (its IEEE bit pattern).
    public static func target(_ value: Float) -> Int32 { Int32(bitPattern: value.bitPattern) }
    /// The value a target entry carries.
    public static func value(_ target: Int32) -> Float { Float(bitPattern: UInt32(bitPattern: target)) }

    public func outputCount(batch: Int, sequence: Int) -> Int { batch * outputs }
    public func targetCount(batch: Int, sequence: Int) -> Int { batch * outputs }

    public func validate(targets: [Int32], batch: Int, sequence: Int) throws {
        guard targets.count == batch * outputs else {
            throw ModelError.badInput("\(targets.count) regression targets for \(batch) sequences × \(outputs) outputs")
        }
        if let bad = targets.first(where: { !Self.value($0).isFinite }) {
            throw ModelError.badInput("regression target \(Self.value(bad)) is not a finite number")
        }
    }

    public func loss(
        outputs predictions: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float {
        let n = batch * outputs
        return targets.withMemoryRebound(to: Float.self, capacity: n) { values in
            MeanSquaredError.forward(predictions: predictions, targets: values, count: n, dPredictions: dOutputs)
        }
    }
}

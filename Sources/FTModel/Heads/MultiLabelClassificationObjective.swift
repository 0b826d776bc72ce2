import FTCore
import FTKernels

/// Multi-label sequence classification, the loss of Hugging Face's
/// `*ForSequenceClassification` with `problem_type: multi_label_classification`:
/// `BCEWithLogitsLoss()(logits, labels)` over the (B, L) logits and a (B, L) multi-hot target, the
/// mean over all B·L entries. Each label is an independent yes/no; a row may have none, one or
/// several.
///
/// The targets ride on the per-example target path as L entries per example (0 or 1), so the
/// batch holds (B, L) targets in row-major order.
public struct MultiLabelClassificationObjective: TaskObjective {
    /// L: the labels, each one sigmoid output.
    public let classes: Int

    /// - Throws: `ModelError.badInput` when `classes` is not positive.
    public init(classes: Int) throws {
        guard classes > 0 else { throw ModelError.badInput("a multi-label head needs at least one label") }
        self.classes = classes
    }

    public func outputCount(batch: Int, sequence: Int) -> Int { batch * classes }
    public func targetCount(batch: Int, sequence: Int) -> Int { batch * classes }

    public func validate(targets: [Int32], batch: Int, sequence: Int) throws {
        guard targets.count == batch * classes else {
            throw ModelError.badInput("\(targets.count) multi-label targets for \(batch) sequences × \(classes) labels")
        }
        if let bad = targets.first(where: { $0 != 0 && $0 != 1 }) {
            throw ModelError.badInput("multi-label target \(bad) is neither 0 nor 1")
        }
    }

    public func loss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float {
        let n = batch * classes
        let y = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            for i in 0..<n { buffer[i] = Float(targets[i]) }
            initialized = n
        }
        return BinaryCrossEntropy.forward(logits: outputs, targets: y, count: n, dLogits: dOutputs)
    }
}

import FTCore

/// A task head's loss: how the model's outputs for a batch and the batch's targets give the loss
/// and the gradient of the outputs, which is all the step driver needs of a task
/// (`ClassificationStep`). Sequence classification is one objective; token classification (a
/// label per token, −100 ignored), extractive QA (start and end logits), multi-label (sigmoid with
/// BCE), regression (MSE) and causal LM (next-token cross-entropy) are each another conforming
/// type over the same step, checkpoints and data-parallel path.
///
/// Contract: `loss` returns the batch's mean loss (the task's reduction) and overwrites
/// `dOutputs` with ∂loss/∂outputs, already divided by that reduction's denominator.
public protocol TaskObjective: Sendable {
    /// Outputs the model produces per batch of (B, T) for this head (B·L for sequence classification).
    func outputCount(batch: Int, sequence: Int) -> Int
    /// Targets a batch carries (B class ids for sequence classification).
    func targetCount(batch: Int, sequence: Int) -> Int
    /// Throws, naming the target, when one is outside what the head can score.
    func validate(targets: [Int32], batch: Int, sequence: Int) throws
    /// The denominator of the batch's mean (what token-weighted accumulation weighs it by); by
    /// default B.
    func reductionCount(targets: UnsafePointer<Int32>, batch: Int, sequence: Int) -> Int
    /// The mean loss of the batch, and its gradient in `dOutputs`.
    func loss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float
}

extension TaskObjective {
    /// The denominator of the batch's mean loss (B for unweighted sequence classification): what
    /// token-weighted gradient accumulation weighs micro-batches by. Conforming types whose mean
    /// is over something else (target tokens) override it.
    public func reductionCount(targets: UnsafePointer<Int32>, batch: Int, sequence: Int) -> Int { batch }
}

/// Single-label sequence classification: softmax cross-entropy over `classes` logits per
/// sequence, optionally class-weighted (`nn.CrossEntropyLoss(weight=…)`, the mean dividing by the
/// targets' summed weights as PyTorch does).
public struct SequenceClassificationObjective: TaskObjective {
    public let classes: Int
    /// (L) per-class weights, or nil.
    public let classWeights: [Float]?

    /// - Throws: `ModelError.badInput` when the weights do not fit the classes or are negative.
    public init(classes: Int, classWeights: [Float]? = nil) throws {
        guard classes > 0 else { throw ModelError.badInput("a classification head needs at least one class") }
        if let classWeights {
            guard classWeights.count == classes else {
                throw ModelError.badInput("\(classWeights.count) class weights for \(classes) classes")
            }
            guard classWeights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw ModelError.badInput("class weights must be finite and >= 0")
            }
        }
        self.classes = classes
        self.classWeights = classWeights
    }

    public func outputCount(batch: Int, sequence: Int) -> Int { batch * classes }
    public func targetCount(batch: Int, sequence: Int) -> Int { batch }

    public func validate(targets: [Int32], batch: Int, sequence: Int) throws {
        if let bad = targets.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw ModelError.badInput("label \(bad) outside 0..<\(classes)")
        }
    }

    public func loss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float {
        guard let classWeights else {
            return SoftmaxCrossEntropy.forward(logits: outputs, labels: targets, batch: batch, classes: classes, dLogits: dOutputs)
        }
        return classWeights.withUnsafeBufferPointer { weights in
            SoftmaxCrossEntropy.forward(
                logits: outputs, labels: targets, classWeights: weights.baseAddress,
                batch: batch, classes: classes, dLogits: dOutputs)
        }
    }
}

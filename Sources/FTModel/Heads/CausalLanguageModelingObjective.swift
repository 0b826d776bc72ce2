import FTCore

/// Next-token prediction, the loss of Hugging Face's `LlamaForCausalLM(labels=…)`: the model's
/// outputs are (B, T, V) logits, the targets (B, T) labels aligned with the inputs (the labels
/// are the input ids with `−100` where no loss is taken: prompt tokens, padding), and the loss is
/// the mean cross-entropy of logits[:, t] against labels[:, t + 1] over the non-ignored targets
/// (`NextTokenCrossEntropy`). The gradient is zero at ignored positions and at each row's last
/// position, whose logits predict nothing inside the batch.
///
/// A batch with no target at all (every completion truncated away, a packed row of prompts) has
/// loss 0 and a zero gradient, where PyTorch gives NaN (0 / 0): such a micro-batch then adds
/// nothing to the step instead of poisoning it.
public struct CausalLanguageModelingObjective: TaskObjective {
    /// V: the logits per position (the embedding table's rows).
    public let vocabularySize: Int

    /// - Throws: `ModelError.badInput` when `vocabularySize` is not positive.
    public init(vocabularySize: Int) throws {
        guard vocabularySize > 0 else { throw ModelError.badInput("a language-modelling head needs a vocabulary") }
        self.vocabularySize = vocabularySize
    }

    public func outputCount(batch: Int, sequence: Int) -> Int { batch * sequence * vocabularySize }
    public func targetCount(batch: Int, sequence: Int) -> Int { batch * sequence }

    public func validate(targets: [Int32], batch: Int, sequence: Int) throws {
        if let bad = targets.first(where: { $0 != NextTokenCrossEntropy.ignoreIndex && ($0 < 0 || Int($0) >= vocabularySize) }) {
            throw ModelError.badInput("target token \(bad) outside 0..<\(vocabularySize) (and not the ignored -100)")
        }
    }

    public func loss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float {
        NextTokenCrossEntropy.forward(
            logits: outputs, labels: targets, batch: batch, sequence: sequence, vocabulary: vocabularySize,
            dLogits: dOutputs)
    }

    /// The target tokens of the batch (after the shift, −100 excluded): the loss's denominator.
    public func reductionCount(targets: UnsafePointer<Int32>, batch: Int, sequence: Int) -> Int {
        NextTokenCrossEntropy.targetCount(labels: targets, batch: batch, sequence: sequence)
    }

    /// The summed loss of a batch and its target count, without a gradient (evaluation: the
    /// token-weighted mean over a split is Σ sums / Σ counts).
    public func summedLoss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int
    ) -> (sum: Double, targets: Int) {
        var sum: Double = 0
        _ = NextTokenCrossEntropy.forward(
            logits: outputs, labels: targets, batch: batch, sequence: sequence, vocabulary: vocabularySize,
            dLogits: nil, sum: &sum)
        return (sum, NextTokenCrossEntropy.targetCount(labels: targets, batch: batch, sequence: sequence))
    }
}

import FTCore

/// Token classification, the loss of Hugging Face's `*ForTokenClassification(labels=…)`: the
/// model's outputs are (B, T, L) logits, the targets (B, T) labels aligned with the tokens (−100
/// on special tokens, padding and, with first-sub-token alignment, continuation sub-tokens), and
/// the loss is the mean cross-entropy over the targets (`TokenCrossEntropy`).
public struct TokenClassificationObjective: TaskObjective {
    /// L: the labels per token.
    public let classes: Int

    /// - Throws: `ModelError.badInput` when `classes` is not positive.
    public init(classes: Int) throws {
        guard classes > 0 else { throw ModelError.badInput("a token-classification head needs at least one label") }
        self.classes = classes
    }

    public func outputCount(batch: Int, sequence: Int) -> Int { batch * sequence * classes }
    public func targetCount(batch: Int, sequence: Int) -> Int { batch * sequence }

    public func validate(targets: [Int32], batch: Int, sequence: Int) throws {
        if let bad = targets.first(where: { $0 != TokenCrossEntropy.ignoreIndex && ($0 < 0 || Int($0) >= classes) }) {
            throw ModelError.badInput("token label \(bad) outside 0..<\(classes) (and not the ignored -100)")
        }
    }

    public func loss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int, sequence: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float {
        TokenCrossEntropy.forward(logits: outputs, labels: targets, rows: batch * sequence, classes: classes, dLogits: dOutputs)
    }

    /// The target tokens of the batch: the loss's denominator.
    public func reductionCount(targets: UnsafePointer<Int32>, batch: Int, sequence: Int) -> Int {
        TokenCrossEntropy.targetCount(labels: targets, rows: batch * sequence)
    }
}

import FTCore
import FTKernels

/// Extractive question answering, the loss of Hugging Face's `*ForQuestionAnswering(
/// start_positions=…, end_positions=…)`: the model's outputs are (B, T, 2) — channel 0 the start
/// logits, channel 1 the end logits of every token — and the loss is the mean of the start and
/// the end cross-entropies, each a mean over the B sequences, softmax over all T positions of the
/// padded batch (padding included, as transformers computes it).
///
/// The targets ride on the per-token target path (one entry per token, −100 on padding) so the
/// data, batching and step code are the token head's: each token carries `startBit` when it is
/// the answer's first token, `endBit` when it is its last (both when the answer is one token;
/// the `[CLS]` token carries both for a window without the answer), 0 otherwise.
public struct QuestionAnsweringObjective: TaskObjective {
    /// The target bit of the answer's first token.
    public static let startBit: Int32 = 1
    /// The target bit of the answer's last token.
    public static let endBit: Int32 = 2

    public init() {}

    public func outputCount(batch: Int, sequence: Int) -> Int { batch * sequence * 2 }
    public func targetCount(batch: Int, sequence: Int) -> Int { batch * sequence }

    public func validate(targets: [Int32], batch: Int, sequence: Int) throws {
        guard targets.count == batch * sequence else {
            throw ModelError.badInput("\(targets.count) QA targets for a batch of \(batch) × \(sequence) tokens")
        }
        if let bad = targets.first(where: { $0 != TokenCrossEntropy.ignoreIndex && ($0 < 0 || $0 > 3) }) {
            throw ModelError.badInput("QA target \(bad) is none of 0, 1 (start), 2 (end), 3 (start and end), -100 (padding)")
        }
        for b in 0..<batch {
            let row = targets[(b * sequence)..<((b + 1) * sequence)]
            let starts = row.filter { $0 >= 0 && $0 & Self.startBit != 0 }.count
            let ends = row.filter { $0 >= 0 && $0 & Self.endBit != 0 }.count
            guard starts == 1 && ends == 1 else {
                throw ModelError.badInput("QA sequence \(b) of the batch has \(starts) start and \(ends) end positions; it needs one of each")
            }
        }
    }

    /// The start and end positions of each sequence (0, `[CLS]`, where a row has none).
    public static func positions(targets: UnsafePointer<Int32>, batch B: Int, sequence T: Int) -> (starts: [Int32], ends: [Int32]) {
        var starts = [Int32](repeating: 0, count: B), ends = [Int32](repeating: 0, count: B)
        for b in 0..<B {
            for t in 0..<T {
                let v = targets[b * T + t]
                guard v > 0 else { continue }
                if v & startBit != 0 { starts[b] = Int32(t) }
                if v & endBit != 0 { ends[b] = Int32(t) }
            }
        }
        return (starts, ends)
    }

    public func loss(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch B: Int, sequence T: Int,
        dOutputs: UnsafeMutablePointer<Float>
    ) -> Float {
        let (starts, ends) = Self.positions(targets: targets, batch: B, sequence: T)
        var logits = [Float](repeating: 0, count: B * T), dLogits = [Float](repeating: 0, count: B * T)
        var total: Float = 0
        for (channel, positions) in [(0, starts), (1, ends)] {
            // De-interleave channel (B, T) from (B, T, 2), take its cross-entropy over T, put the gradient back.
            for n in 0..<(B * T) { logits[n] = outputs[2 * n + channel] }
            total += SoftmaxCrossEntropy.forward(logits: logits, labels: positions, batch: B, classes: T, dLogits: &dLogits)
            for n in 0..<(B * T) { dOutputs[2 * n + channel] = 0.5 * dLogits[n] }
        }
        return total / 2
    }
}

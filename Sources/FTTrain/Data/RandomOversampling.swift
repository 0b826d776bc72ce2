import FTCore

/// Random oversampling of minority classes, as imbalanced-learn's `RandomOverSampler` with its
/// default `sampling_strategy="not majority"`: every class is topped up to the size of the largest
/// by drawing extra copies of its own examples uniformly with replacement.
///
/// Apply it to the training split only — copies in validation or test would inflate the scores.
/// The original examples keep their order and the copies follow them, class by class in `LabelSet`
/// order; the trainer shuffles every epoch anyway.
public enum RandomOversampling {
    /// `examples` plus the drawn copies, and how many copies each label received.
    public static func oversample(_ examples: [TextExample], seed: UInt64) -> (examples: [TextExample], added: [String: Int]) {
        let classes = LabelSet(training: examples)
        var members = [[Int]](repeating: [], count: classes.count)
        for (index, example) in examples.enumerated() { members[classes.id(for: example.label)!].append(index) }
        let majority = members.map(\.count).max() ?? 0
        var rng = SeededRNG(seed: seed, stream: RandomStreams.base)
        var result = examples
        result.reserveCapacity(majority * classes.count)
        var added: [String: Int] = [:]
        for (id, indices) in members.enumerated() {
            let extra = majority - indices.count
            added[classes.label(for: id)] = extra
            for _ in 0..<extra {
                result.append(examples[indices[SeededShuffle.index(below: indices.count, using: &rng)]])
            }
        }
        return (result, added)
    }
}

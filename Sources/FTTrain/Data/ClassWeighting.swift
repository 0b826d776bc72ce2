/// Per-class loss weights against class imbalance.
public enum ClassWeighting: Sendable, Equatable {
    /// Every class weighs 1 (no weights are passed to the loss).
    case none
    /// scikit-learn's `compute_class_weight("balanced")`: `n_samples / (n_classes · count_c)` over the
    /// training split, so every class contributes the same total weight and the mean weight per
    /// example is 1.
    case balanced
    /// One weight per class id, in `LabelSet` order.
    case byClassId([Double])
    /// One weight per label name; every label of the set must be present, and no other.
    case byLabel([String: Double])

    /// The weights for `labelSet`, computed from the class ids of the training examples, or nil for
    /// `.none`.
    /// - Throws: `DataError.invalidClassWeights` when explicit weights do not match the label set or
    ///   are not finite and positive.
    public func weights(for labelSet: LabelSet, trainingLabelIds: [Int]) throws -> [Float]? {
        switch self {
        case .none:
            return nil
        case .balanced:
            var counts = [Int](repeating: 0, count: labelSet.count)
            for id in trainingLabelIds { counts[id] += 1 }
            if let missing = counts.firstIndex(of: 0) {
                // Cannot happen with a label set built from the same split; say so clearly if misused.
                throw DataError.invalidClassWeights(
                    "class \"\(labelSet.label(for: missing))\" has no training examples, so its balanced weight is undefined")
            }
            let n = Double(trainingLabelIds.count)
            let k = Double(labelSet.count)
            return counts.map { Float(n / (k * Double($0))) }
        case .byClassId(let values):
            guard values.count == labelSet.count else {
                throw DataError.invalidClassWeights("\(values.count) weights given for \(labelSet.count) classes (\(labelSet))")
            }
            try Self.checkPositive(zip(labelSet.labels, values).map { ($0, $1) })
            return values.map(Float.init)
        case .byLabel(let map):
            let unknown = map.keys.filter { labelSet.id(for: $0) == nil }.sorted()
            guard unknown.isEmpty else {
                throw DataError.invalidClassWeights(
                    "weights given for labels not in the training split: \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) (labels: \(labelSet))"
                )
            }
            let missing = labelSet.labels.filter { map[$0] == nil }
            guard missing.isEmpty else {
                throw DataError.invalidClassWeights("no weight given for \(missing.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            let values = labelSet.labels.map { map[$0]! }
            try Self.checkPositive(zip(labelSet.labels, values).map { ($0, $1) })
            return values.map(Float.init)
        }
    }

    private static func checkPositive(_ pairs: [(String, Double)]) throws {
        for (label, weight) in pairs where !(weight.isFinite && weight > 0) {
            throw DataError.invalidClassWeights("the weight of \"\(label)\" is \(weight); weights must be finite and > 0")
        }
    }
}

/// Precision, recall, F1 and support of one class, as one row of sklearn's
/// `precision_recall_fscore_support(average=None, zero_division=0)`.
public struct ClassScores: Sendable, Equatable {
    /// `tp / (tp + fp)`; 0 when the class was never predicted.
    public var precision: Double
    /// `tp / (tp + fn)`; 0 when the class never occurs in the labels.
    public var recall: Double
    /// `2·tp / (2·tp + fp + fn)`, the harmonic mean of the two; 0 when the class is neither
    /// present nor predicted.
    public var f1: Double
    /// The number of samples whose true label is this class.
    public var support: Int

    public init(precision: Double, recall: Double, f1: Double, support: Int) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
    }
}

/// Precision, recall and F1 averaged over the classes (macro or support-weighted).
public struct AveragedScores: Sendable, Equatable {
    /// The averaged precision.
    public var precision: Double
    /// The averaged recall.
    public var recall: Double
    /// The average of the per-class F1 scores (not the F1 of the averaged precision and recall).
    public var f1: Double

    public init(precision: Double, recall: Double, f1: Double) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
    }
}

extension ClassScores {
    /// Per-class scores from a confusion matrix with sklearn's `zero_division=0`: a 0/0 ratio is
    /// reported as 0 (not NaN, not an error), so a class that is never predicted scores precision 0
    /// and still counts in the macro average — a model that ignores a class is penalised.
    ///
    /// F1 uses sklearn's form `2·tp / (true + predicted)` rather than `2PR / (P + R)`: equal where
    /// both are defined, and it needs no special case when only one of P, R is 0/0.
    static func perClass(from matrix: ConfusionMatrix) -> [ClassScores] {
        let tp = matrix.truePositives, trueCounts = matrix.trueCounts, predicted = matrix.predictedCounts
        return (0..<matrix.classCount).map { c in
            ClassScores(
                precision: ratio(tp[c], predicted[c]),
                recall: ratio(tp[c], trueCounts[c]),
                f1: ratio(2 * tp[c], trueCounts[c] + predicted[c]),
                support: trueCounts[c])
        }
    }

    /// `numerator / denominator`, or 0 for 0/0 (sklearn `zero_division=0`).
    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
}

extension AveragedScores {
    /// The unweighted mean over all K classes (sklearn `average="macro"` with `labels=range(K)`:
    /// classes absent from both labels and predictions count too, with their zero scores).
    static func macro(_ scores: [ClassScores]) -> AveragedScores {
        let k = Double(scores.count)
        return AveragedScores(
            precision: scores.reduce(0) { $0 + $1.precision } / k,
            recall: scores.reduce(0) { $0 + $1.recall } / k,
            f1: scores.reduce(0) { $0 + $1.f1 } / k)
    }

    /// The mean weighted by support (sklearn `average="weighted"`). The total support is the
    /// sample count, which ``ClassificationMetrics`` guarantees is positive.
    static func weighted(_ scores: [ClassScores]) -> AveragedScores {
        let total = Double(scores.reduce(0) { $0 + $1.support })
        func mean(_ value: (ClassScores) -> Double) -> Double {
            scores.reduce(0) { $0 + value($1) * Double($1.support) } / total
        }
        return AveragedScores(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1))
    }
}

/// Evaluation metrics of a single-label text classifier, numerically identical to scikit-learn
/// (checked against it by `scripts/reference/make_metrics_fixture.py` to 1e-9 relative).
///
/// Conventions, each that of sklearn with `labels=range(K)` unless said otherwise:
/// - every class in `classNames` has a row and counts in the macro average, even one absent from
///   both labels and predictions;
/// - a 0/0 precision, recall or F1 is 0 (`zero_division=0`), never NaN, and raises no warning;
/// - AUC is one-vs-rest per class on the given probabilities; see ``aucPerClass`` and ``aucMacro``
///   for the binary case and for classes absent from the labels (where fttrain deliberately
///   differs from sklearn);
/// - everything is computed in `Double` from integer counts, so the result does not depend on
///   the order of the samples (the ring all-reduce gathers them in rank order).
public struct ClassificationMetrics: Sendable {
    /// The class names, index `c` naming class `c`.
    public let classNames: [String]
    /// N, the number of evaluated samples.
    public let sampleCount: Int
    /// The mean loss over the samples, if the caller passed one (it is reported, not computed).
    public let loss: Double?
    /// The fraction of samples whose prediction equals the label.
    public let accuracy: Double
    /// Precision, recall, F1 and support per class, index `c` for class `c`.
    public let perClass: [ClassScores]
    /// The unweighted mean of the per-class scores over all K classes.
    public let macroAverage: AveragedScores
    /// The mean of the per-class scores weighted by support.
    public let weightedAverage: AveragedScores
    /// One-vs-rest ROC AUC of each class: class `c`'s probability column scored against
    /// `label == c` (sklearn `roc_auc_score(label == c, proba[:, c])`, which is what
    /// `label_binarize` + `average=None` gives). `nil` where undefined: when the class never
    /// occurs in the labels, or is every label, or its column holds a NaN.
    public let aucPerClass: [Double?]
    /// The headline AUC.
    /// - K = 2: the binary AUC of the positive class (class 1) probability, exactly
    ///   sklearn's `roc_auc_score(y, proba[:, 1])` — not the mean of both columns, which can differ
    ///   in the last bits because `1 − p` in Float can create ties `p` did not have.
    /// - K > 2: the mean of ``aucPerClass`` over the classes where it is defined; with every class
    ///   present this is sklearn's `roc_auc_score(y, proba, multi_class="ovr", average="macro")`.
    ///   When a class is absent from the labels, sklearn 1.9 returns NaN for the whole average
    ///   (older versions raised). fttrain leaves that class out instead, so that one missing class
    ///   in a small evaluation split does not blank out a metric used to pick the best checkpoint;
    ///   ``aucPerClass`` shows which classes were left out.
    /// - `nil` when no class has a defined AUC.
    public let aucMacro: Double?
    /// Counts with rows = true class, columns = predicted class.
    public let confusionMatrix: ConfusionMatrix

    /// K, the number of classes.
    public var classCount: Int { classNames.count }

    /// Computes all metrics from class indices and a `(N, K)` probability matrix given as rows.
    ///
    /// - Parameters:
    ///   - labels: the true class of each sample, in `0..<K`.
    ///   - predictions: the predicted class of each sample, in `0..<K` (usually
    ///     ``argmax(rows:)`` of the probabilities or logits).
    ///   - probabilities: `N` rows of `K` class probabilities (softmax output). Only their ranking
    ///     within each column matters for the AUC; pass probabilities rather than logits, since a
    ///     softmax column is not a monotone function of its logit column. Unlike sklearn, rows are
    ///     not checked to sum to 1.
    ///   - classNames: `K` distinct names, used by the report, the CSV and the dictionary keys.
    ///   - loss: the evaluation loss to carry into ``dictionary(prefix:)``, if any.
    /// - Throws: ``MetricsError`` when the inputs disagree in size or hold an out-of-range class.
    public static func compute(
        labels: [Int], predictions: [Int], probabilities: [[Float]],
        classNames: [String], loss: Double? = nil
    ) throws -> ClassificationMetrics {
        for (row, values) in probabilities.enumerated() where values.count != classNames.count {
            throw MetricsError.probabilityShape(
                expectedRows: labels.count, expectedColumns: classNames.count,
                row: row, found: values.count)
        }
        return try compute(
            labels: labels, predictions: predictions, probabilities: probabilities.flatMap { $0 },
            classNames: classNames, loss: loss)
    }

    /// Computes all metrics from class indices and a flat row-major `(N, K)` probability array, as
    /// the model's output buffer holds it: `probabilities[i * K + c]` is sample `i`'s probability of
    /// class `c`. Otherwise the same as the form taking rows.
    public static func compute(
        labels: [Int], predictions: [Int], probabilities: [Float],
        classNames: [String], loss: Double? = nil
    ) throws -> ClassificationMetrics {
        let k = classNames.count, n = labels.count
        guard k > 0 else { throw MetricsError.noClasses }
        var seen = Set<String>()
        for name in classNames where !seen.insert(name).inserted { throw MetricsError.duplicateClassName(name) }
        guard n == predictions.count else { throw MetricsError.lengthMismatch(labels: n, predictions: predictions.count) }
        guard n > 0 else { throw MetricsError.noSamples }
        for (which, values) in [("labels", labels), ("predictions", predictions)] {
            if let i = values.firstIndex(where: { !(0..<k).contains($0) }) {
                throw MetricsError.classOutOfRange(which: which, index: i, value: values[i], classCount: k)
            }
        }
        guard probabilities.count == n * k else {
            throw MetricsError.probabilityShape(expectedRows: n, expectedColumns: k, row: nil, found: probabilities.count)
        }

        let matrix = ConfusionMatrix(classCount: k, labels: labels, predictions: predictions)
        let scores = ClassScores.perClass(from: matrix)
        let correct = matrix.truePositives.reduce(0, +)

        // One-vs-rest: column c against "label == c".
        let aucs: [Double?] = (0..<k).map { c in
            let column = (0..<n).map { probabilities[$0 * k + c] }
            return ROCAUC.binary(scores: column, isPositive: labels.map { $0 == c })
        }
        let headline: Double?
        if k == 2 {
            headline = aucs[1]
        } else {
            let defined = aucs.compactMap { $0 }
            headline = defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
        }

        return ClassificationMetrics(
            classNames: classNames, sampleCount: n, loss: loss,
            accuracy: Double(correct) / Double(n),
            perClass: scores, macroAverage: .macro(scores), weightedAverage: .weighted(scores),
            aucPerClass: aucs, aucMacro: headline, confusionMatrix: matrix)
    }

    /// The confusion matrix as CSV text for `confusion_matrix.csv` (see ``ConfusionMatrix/csv(classNames:)``).
    public func confusionMatrixCSV() -> String {
        confusionMatrix.csv(classNames: classNames)
    }
}

import Foundation

/// Multi-label metrics as scikit-learn computes them on (N, L) indicator matrices, the
/// predictions being the labels whose probability is at least their threshold (one for all, or
/// one per label): `f1_score`,
/// `precision_score`, `recall_score` with `average='micro'` and `'macro'` (`zero_division=0`),
/// `accuracy_score` (subset accuracy: every label of a row right), `hamming_loss` (the share of
/// wrong entries), and per label precision, recall, F1 and support
/// (`precision_recall_fscore_support(average=None)`).
public struct MultiLabelMetrics: Sendable, Equatable {
    public let classNames: [String]
    /// Each label's threshold, in label order.
    public let thresholds: [Double]
    /// The threshold when every label has the same one, else nil.
    public var threshold: Double? { thresholds.allSatisfy { $0 == thresholds[0] } ? thresholds[0] : nil }
    public let perLabel: [ClassScores]
    public let micro: AveragedScores
    public let macro: AveragedScores
    public let subsetAccuracy: Double
    public let hammingLoss: Double
    public let loss: Double?
    public let count: Int

    /// - Parameters:
    ///   - truth: (N, L) row-major, 0 or 1.
    ///   - probabilities: (N, L) row-major sigmoid outputs; a label is predicted when ≥ `threshold`.
    public init(truth: [Int32], probabilities: [Float], classNames: [String], threshold: Double, loss: Double? = nil) {
        self.init(
            truth: truth, probabilities: probabilities, classNames: classNames,
            thresholds: [Double](repeating: threshold, count: classNames.count), loss: loss)
    }

    /// - Parameters:
    ///   - thresholds: one per label: label k is predicted when its probability is ≥ `thresholds[k]`.
    public init(truth: [Int32], probabilities: [Float], classNames: [String], thresholds: [Double], loss: Double? = nil) {
        let L = classNames.count
        precondition(L > 0 && truth.count == probabilities.count && truth.count % L == 0, "(N, L) truth and probabilities")
        precondition(thresholds.count == L, "one threshold per label")
        let N = truth.count / L
        self.classNames = classNames
        self.thresholds = thresholds
        self.loss = loss
        count = N
        var tp = [Int](repeating: 0, count: L), fp = tp, fn = tp
        var exact = 0, wrong = 0
        for i in 0..<N {
            var rowRight = true
            for k in 0..<L {
                let y = truth[i * L + k] != 0, p = Double(probabilities[i * L + k]) >= thresholds[k]
                if y && p { tp[k] += 1 }
                if !y && p { fp[k] += 1 }
                if y && !p { fn[k] += 1 }
                if y != p {
                    rowRight = false
                    wrong += 1
                }
            }
            if rowRight { exact += 1 }
        }
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        perLabel = (0..<L).map { k in
            ClassScores(
                precision: ratio(tp[k], tp[k] + fp[k]), recall: ratio(tp[k], tp[k] + fn[k]),
                f1: ratio(2 * tp[k], 2 * tp[k] + fp[k] + fn[k]), support: tp[k] + fn[k])
        }
        let TP = tp.reduce(0, +), FP = fp.reduce(0, +), FN = fn.reduce(0, +)
        micro = AveragedScores(precision: ratio(TP, TP + FP), recall: ratio(TP, TP + FN), f1: ratio(2 * TP, 2 * TP + FP + FN))
        macro = AveragedScores(
            precision: perLabel.map(\.precision).reduce(0, +) / Double(L), recall: perLabel.map(\.recall).reduce(0, +) / Double(L),
            f1: perLabel.map(\.f1).reduce(0, +) / Double(L))
        subsetAccuracy = ratio(exact, N)
        hammingLoss = ratio(wrong, N * L)
    }

    /// `eval_f1_micro`, `eval_f1_macro`, `eval_precision_micro`/`_macro`, `eval_recall_micro`/`_macro`,
    /// `eval_subset_accuracy` (also as `eval_accuracy`, sklearn's `accuracy_score` on multi-label
    /// data), `eval_hamming_loss`, `eval_f1_<label>` per label, and `eval_loss`.
    public func dictionary(prefix: String = "eval_") -> [String: Double] {
        var values: [String: Double] = [
            "f1_micro": micro.f1, "f1_macro": macro.f1, "precision_micro": micro.precision, "precision_macro": macro.precision,
            "recall_micro": micro.recall, "recall_macro": macro.recall, "subset_accuracy": subsetAccuracy,
            "accuracy": subsetAccuracy, "hamming_loss": hammingLoss,
        ]
        let reserved = Set(values.keys.compactMap { $0.hasPrefix("f1_") ? String($0.dropFirst(3)) : nil })
        let classKey = classNames.contains(where: reserved.contains) ? "f1_class_" : "f1_"
        for (k, scores) in perLabel.enumerated() { values[classKey + classNames[k]] = scores.f1 }
        if let loss { values["loss"] = loss }
        return Dictionary(uniqueKeysWithValues: values.map { (prefix + $0.key, $0.value) })
    }

    /// The per-label table (precision, recall, F1, support) with the micro and macro rows, the
    /// subset accuracy and the Hamming loss, in the layout of sklearn's `classification_report`.
    public func report(digits: Int = 4) -> String {
        let width = max(classNames.map(\.count).max() ?? 0, "micro avg".count, digits)
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(n - s.count, 0)) + s }
        func number(_ v: Double) -> String { pad(String(format: "%.\(digits)f", v), 10) }
        // Per-label thresholds get a column; one threshold for all is named on the last line.
        let perLabelThresholds = threshold == nil
        var lines = [
            pad("", width) + pad("precision", 10) + pad("recall", 10) + pad("f1-score", 10) + pad("support", 10)
                + (perLabelThresholds ? pad("threshold", 11) : ""), "",
        ]
        for (k, s) in perLabel.enumerated() {
            lines.append(
                pad(classNames[k], width) + number(s.precision) + number(s.recall) + number(s.f1) + pad("\(s.support)", 10)
                    + (perLabelThresholds ? " " + number(thresholds[k]) : ""))
        }
        let support = perLabel.map(\.support).reduce(0, +)
        lines.append("")
        lines.append(pad("micro avg", width) + number(micro.precision) + number(micro.recall) + number(micro.f1) + pad("\(support)", 10))
        lines.append(pad("macro avg", width) + number(macro.precision) + number(macro.recall) + number(macro.f1) + pad("\(support)", 10))
        lines.append("")
        lines.append(
            "threshold \(threshold.map { "\($0)" } ?? "per label"); subset accuracy \(String(format: "%.\(digits)f", subsetAccuracy)); hamming loss \(String(format: "%.\(digits)f", hammingLoss)); \(count) examples"
        )
        return lines.joined(separator: "\n") + "\n"
    }
}

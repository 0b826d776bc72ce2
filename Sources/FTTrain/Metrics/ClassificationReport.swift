import Foundation

extension ClassificationMetrics {
    /// A text table laid out exactly as scikit-learn's `classification_report(y, pred,
    /// labels=range(K), target_names=classNames, digits=digits, zero_division=0)` prints it
    /// (byte-identical on the fixture cases), e.g.
    ///
    /// ```
    ///               precision    recall  f1-score   support
    ///
    ///     negative       0.62      0.62      0.62         8
    ///     positive       0.81      0.81      0.81        16
    ///
    ///     accuracy                           0.75        24
    ///    macro avg       0.72      0.72      0.72        24
    /// weighted avg       0.75      0.75      0.75        24
    /// ```
    ///
    /// Width rules (sklearn 1.x): the name column is as wide as the longest of the class names,
    /// "weighted avg" and `digits`, right-aligned, and counts Unicode code points as Python's `len`
    /// does (so a CJK name is padded by its code points, not its display width). Each number column
    /// is a space plus a right-aligned field of at least 9 characters; numbers use `digits` decimals
    /// rounded as Python does — the exact binary value, ties to even (so 0.625 prints as 0.62).
    /// The accuracy row leaves precision and recall blank. Every line ends with `\n`.
    ///
    /// - Parameter digits: decimals of the scores, 2 like sklearn by default.
    public func classificationReport(digits: Int = 2) -> String {
        precondition(digits >= 0, "negative digits")
        let width = max(classNames.map(\.unicodeScalars.count).max() ?? 0, "weighted avg".count, digits)
        let headers = ["precision", "recall", "f1-score", "support"]

        func name(_ text: String) -> String { pad(text, to: width) + " " }
        func column(_ text: String) -> String { " " + pad(text, to: 9) }
        func number(_ value: Double) -> String { column(Self.fixed(value, digits: digits)) }
        func row(_ heading: String, _ p: Double, _ r: Double, _ f: Double, _ support: Int) -> String {
            name(heading) + number(p) + number(r) + number(f) + column(String(support)) + "\n"
        }

        var report = name("") + headers.map(column).joined() + "\n\n"
        for (c, scores) in perClass.enumerated() {
            report += row(classNames[c], scores.precision, scores.recall, scores.f1, scores.support)
        }
        report += "\n"
        // sklearn prints the micro average as "accuracy" (they are equal for single-label data with
        // every class listed) and blanks its precision and recall.
        report += name("accuracy") + column("") + column("") + number(accuracy) + column(String(sampleCount)) + "\n"
        report += row("macro avg", macroAverage.precision, macroAverage.recall, macroAverage.f1, sampleCount)
        report += row(
            "weighted avg", weightedAverage.precision, weightedAverage.recall, weightedAverage.f1,
            sampleCount)
        return report
    }

    /// `value` with `digits` decimals, as Python's `format(value, ".{digits}f")`. Both Python and
    /// C's `printf` (glibc, Darwin libc) round the exact binary value half-to-even, so `%.*f` agrees.
    static func fixed(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}

/// Right-aligns `text` in `width` Unicode code points, as Python's `"{:>{width}}"` (never truncates).
private func pad(_ text: String, to width: Int) -> String {
    let length = text.unicodeScalars.count
    return length >= width ? text : String(repeating: " ", count: width - length) + text
}

import Foundation

/// A K×K confusion matrix of counts: rows are the true class, columns the predicted class, as
/// scikit-learn's `confusion_matrix(y_true, y_pred, labels=range(K))`.
public struct ConfusionMatrix: Sendable, Equatable {
    /// K, the number of classes (rows and columns).
    public let classCount: Int
    /// The counts, row-major `(K, K)`: `counts[t * K + p]` is the number of samples of true class
    /// `t` predicted as `p`.
    public private(set) var counts: [Int]

    /// An all-zero K×K matrix.
    public init(classCount: Int) {
        precondition(classCount >= 0, "negative class count")
        self.classCount = classCount
        self.counts = Array(repeating: 0, count: classCount * classCount)
    }

    /// Counts each `(labels[i], predictions[i])` pair. Both arrays must hold indices in
    /// `0..<classCount` and have the same length (``ClassificationMetrics`` checks this and throws).
    public init(classCount: Int, labels: [Int], predictions: [Int]) {
        precondition(labels.count == predictions.count, "labels and predictions differ in length")
        self.init(classCount: classCount)
        for (t, p) in zip(labels, predictions) {
            precondition((0..<classCount).contains(t) && (0..<classCount).contains(p), "class index out of range")
            counts[t * classCount + p] += 1
        }
    }

    /// The number of samples of true class `trueClass` predicted as `predicted`.
    public subscript(trueClass: Int, predicted: Int) -> Int {
        counts[trueClass * classCount + predicted]
    }

    /// The matrix as nested rows (`rows[true][predicted]`), e.g. for JSON.
    public var rows: [[Int]] {
        (0..<classCount).map { Array(counts[($0 * classCount)..<(($0 + 1) * classCount)]) }
    }

    /// Samples per true class (row sums): the support.
    public var trueCounts: [Int] { (0..<classCount).map { t in (0..<classCount).reduce(0) { $0 + self[t, $1] } } }

    /// Samples per predicted class (column sums).
    public var predictedCounts: [Int] { (0..<classCount).map { p in (0..<classCount).reduce(0) { $0 + self[$1, p] } } }

    /// The diagonal: correctly classified samples per class.
    public var truePositives: [Int] { (0..<classCount).map { self[$0, $0] } }

    /// The total number of samples.
    public var total: Int { counts.reduce(0, +) }

    /// The matrix as CSV text for `confusion_matrix.csv`: a header `true\predicted,<name1>,...`, then
    /// one row per true class `<name>,<count>,...`, lines ending in `\n` (also the last). Names
    /// containing a comma, a double quote or a line break are quoted as RFC 4180 says (doubled
    /// quotes inside), so spreadsheet tools and Python's `csv` module read them back intact.
    public func csv(classNames: [String]) -> String {
        precondition(classNames.count == classCount, "need one name per class")
        var text = (["true\\predicted"] + classNames.map(Self.csvField)).joined(separator: ",") + "\n"
        for (t, row) in rows.enumerated() {
            text += ([Self.csvField(classNames[t])] + row.map(String.init)).joined(separator: ",") + "\n"
        }
        return text
    }

    /// One CSV field, quoted only when it has to be.
    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

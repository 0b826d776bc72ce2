/// Why ``ClassificationMetrics/compute(labels:predictions:probabilities:classNames:loss:)`` refused
/// its inputs. These are data or wiring mistakes (an evaluation set that lost its labels, a head
/// with the wrong number of outputs), so they throw with a message rather than trap mid-run.
public enum MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `classNames` was empty.
    case noClasses
    /// Two classes share a name, which would make report rows and `metrics.json` keys ambiguous.
    case duplicateClassName(String)
    /// There were no samples: accuracy and every average would be 0/0.
    case noSamples
    /// `labels` and `predictions` have different lengths.
    case lengthMismatch(labels: Int, predictions: Int)
    /// A label or prediction (`which` says which array) at `index` is outside `0..<classCount`.
    case classOutOfRange(which: String, index: Int, value: Int, classCount: Int)
    /// The probability matrix is not `(sampleCount, classCount)`: `row` is the first bad row, or
    /// `nil` when a flat array has the wrong total length.
    case probabilityShape(expectedRows: Int, expectedColumns: Int, row: Int?, found: Int)

    public var description: String {
        switch self {
        case .noClasses:
            return "metrics: no class names were given"
        case .duplicateClassName(let name):
            return "metrics: class name \"\(name)\" appears more than once"
        case .noSamples:
            return "metrics: no samples to evaluate"
        case let .lengthMismatch(labels, predictions):
            return "metrics: \(labels) labels but \(predictions) predictions"
        case let .classOutOfRange(which, index, value, classCount):
            return "metrics: \(which)[\(index)] = \(value) is not a class index in 0..<\(classCount)"
        case let .probabilityShape(rows, columns, row, found):
            if let row {
                return "metrics: probability row \(row) has \(found) values, expected \(columns)"
            }
            return "metrics: \(found) probabilities, expected \(rows) × \(columns) = \(rows * columns)"
        }
    }
}

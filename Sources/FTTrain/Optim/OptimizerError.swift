/// Errors of the optimizer side of training: bad state on resume, bad batches.
public enum OptimizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A saved optimizer state does not fit the parameters it is loaded for.
    case stateMismatch(String)
    /// A batch is malformed: sizes disagree, or a label is outside the model's classes.
    case badBatch(String)

    public var description: String {
        switch self {
        case .stateMismatch(let message): return "optimizer state mismatch: \(message)"
        case .badBatch(let message): return "bad training batch: \(message)"
        }
    }
}

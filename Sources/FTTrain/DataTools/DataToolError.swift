/// Why a `fttrain data` command rejected its input. Messages name the file (and line) and the problem.
public enum DataToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line of a JSON Lines file that is not a JSON object.
    case invalidJSONLine(path: String, line: Int, reason: String)
    /// A row the command cannot use (a wrong field count, a value that is not text).
    case invalidRow(path: String, line: Int, reason: String)
    /// An option value that makes no sense for this input.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidJSONLine(let path, let line, let reason): return "\(path):\(line): not a JSON object: \(reason)"
        case .invalidRow(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .invalidArgument(let reason): return reason
        }
    }
}

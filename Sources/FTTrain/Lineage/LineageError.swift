/// Why a `lineage.json` cannot be read or written; each message names the file and the problem.
public enum LineageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file exists but is not a lineage record fttrain can read (not JSON, another format, a
    /// missing or mistyped field).
    case malformed(path: String, reason: String)
    /// No `lineage.json` where one was asked for.
    case notFound(String)
    /// Writing the record failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let path, let reason): return "\(path): not a valid lineage record: \(reason)"
        case .notFound(let message): return message
        case .writeFailed(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}

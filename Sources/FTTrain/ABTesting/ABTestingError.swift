/// Why an A/B split, log or report refused its input. Every message names the thing at fault (the
/// arm, the request id, the log file and line) so that a server can pass it to the client as is and
/// a command can print it as its one line of error.
public enum ABTestingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A split needs at least two arms to compare.
    case tooFewArms(Int)
    /// Two arms share a name.
    case duplicateArm(String)
    /// An arm has an empty name.
    case emptyArmName
    /// An arm's weight is zero, negative, NaN or infinite.
    case badWeight(arm: String, weight: Double)
    /// `arm(uniform:)` was given a number outside [0, 1).
    case uniformOutOfRange(Double)
    /// Feedback named a request id that the log never served (the server answers 404).
    case unknownRequest(String)
    /// A prediction was logged twice under one request id.
    case duplicateRequest(String)
    /// Feedback gave a different number of labels than the request had inputs.
    case feedbackCount(id: String, expected: Int, found: Int)
    /// A record to log had an empty id or no labels.
    case badRecord(String)
    /// An A/B route definition (`routes.NAME` of serve.yaml) is malformed or names an arm that is
    /// not served; the message names the route and the key.
    case badRoute(String)
    /// The log file could not be opened, read or written.
    case io(path: String, message: String)
    /// A line of the log (1-based `line`) is not a valid record. Only the last line of a file may be
    /// cut short (a crash mid-write); any other bad line is corruption.
    case corruptLine(path: String, line: Int, message: String)

    public var description: String {
        switch self {
        case .tooFewArms(let count):
            return "A/B split: \(count) arm\(count == 1 ? "" : "s"); at least 2 are needed"
        case .duplicateArm(let name):
            return "A/B split: arm \"\(name)\" appears more than once"
        case .emptyArmName:
            return "A/B split: an arm has an empty name"
        case let .badWeight(arm, weight):
            return "A/B split: arm \"\(arm)\" has weight \(weight); weights must be positive and finite"
        case .uniformOutOfRange(let value):
            return "A/B split: uniform draw \(value) is outside [0, 1)"
        case .unknownRequest(let id):
            return "A/B feedback: no A/B prediction was served with request id \"\(id)\""
        case .duplicateRequest(let id):
            return "A/B log: request id \"\(id)\" was already logged"
        case let .feedbackCount(id, expected, found):
            return
                "A/B feedback: request \"\(id)\" had \(expected) input\(expected == 1 ? "" : "s") but the feedback has \(found) label\(found == 1 ? "" : "s")"
        case .badRecord(let message):
            return "A/B log: \(message)"
        case .badRoute(let message):
            return message
        case let .io(path, message):
            return "\(path): \(message)"
        case let .corruptLine(path, line, message):
            return "\(path):\(line): corrupt A/B log line: \(message)"
        }
    }
}

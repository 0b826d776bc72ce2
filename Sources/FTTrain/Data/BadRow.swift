/// A row that could not become an example, with where it is and why — collected rather than thrown
/// one at a time, so the user sees every problem of a file in one run.
public struct BadRow: Sendable, Hashable, CustomStringConvertible {
    /// Where the row starts.
    public var location: SourceLocation
    /// A short, specific reason, e.g. `empty label` or `expected 2 fields (as in the header), found 3`.
    public var reason: String

    public init(location: SourceLocation, reason: String) {
        self.location = location
        self.reason = reason
    }

    /// `file:line: reason`.
    public var description: String { "\(location): \(reason)" }

    /// How many bad rows a message lists before it summarises the rest as a count.
    public static let listedInMessages = 10

    /// The rows as log lines: the first `listedInMessages`, then `... and N more`.
    public static func summary(of rows: [BadRow]) -> String {
        var lines = rows.prefix(listedInMessages).map { "  \($0)" }
        if rows.count > listedInMessages {
            lines.append("  ... and \(rows.count - listedInMessages) more")
        }
        return lines.joined(separator: "\n")
    }
}

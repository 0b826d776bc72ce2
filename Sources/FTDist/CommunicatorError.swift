/// A failure of a point-to-point call or a collective, naming the peer involved where there is one.
///
/// Thrown by every `Communicator` implementation and by the collectives built on them
/// (`RingAllReduce`, `broadcast`, `checkSameValue`), so a failed or mismatched rank shows up as a
/// readable error on the ranks that notice it instead of a hang or silent corruption.
public struct CommunicatorError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that want to branch on it.
    public enum Kind: Sendable, Equatable {
        /// Ranks passed different lengths (or other values that must agree) to a collective.
        case mismatch
        /// A receive waited longer than the communicator's timeout.
        case timeout
        /// A message arrived with a different length than the receiver asked for.
        case sizeMismatch
        /// A rank index outside `0 ..< size`, a negative count, or similar misuse.
        case invalidArgument
        /// Another rank failed and the world was shut down.
        case aborted
        /// The transport (e.g. MPI) reported an error.
        case transport
    }

    public var kind: Kind
    /// The rank on the other side of the failed call, or the first rank that disagreed; nil if none.
    public var peer: Int?
    /// The call that failed, e.g. `"receive"`, `"allReduceSum"`, `"broadcast"`.
    public var operation: String
    /// A human-readable explanation (lengths, ranks, timeout).
    public var message: String

    public init(_ kind: Kind, peer: Int? = nil, operation: String, message: String) {
        self.kind = kind
        self.peer = peer
        self.operation = operation
        self.message = message
    }

    public var description: String {
        if let peer {
            return "\(operation) (peer rank \(peer)): \(message)"
        }
        return "\(operation): \(message)"
    }
}

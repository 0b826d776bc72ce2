/// What a process group offers the trainer: its size, this process's rank, point-to-point
/// messages and the collectives built on them. Implementations: `InProcessCommunicator` (threads
/// in one process, for tests) and `MPICommunicator` (Open MPI, for real jobs).
///
/// Contract: every call is collective in the MPI sense where its doc says so (all ranks call it,
/// in the same order); a failure throws `CommunicatorError` naming the peer or the MPI error.
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in `0 ..< size`.
    var rank: Int { get }
    /// Number of processes in the group.
    var size: Int { get }

    /// Sends `count` floats to `peer` (blocks until the buffer may be reused).
    func send(_ buffer: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws
    /// Receives exactly `count` floats from `peer`.
    func receive(_ buffer: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws
    /// Sends to `destination` and receives from `source` at once (no deadlock in a ring).
    func sendReceive(
        send sendBuffer: UnsafePointer<Float>, sendCount: Int, to destination: Int,
        receive receiveBuffer: UnsafeMutablePointer<Float>, receiveCount: Int, from source: Int,
        tag: Int) throws
    /// The float count of the oldest message from `peer` with `tag` that has arrived, or nil when
    /// none has; never blocks (for waiting on several peers with a deadline). A message longer
    /// than the transport's largest piece reports its first piece.
    func probe(from peer: Int, tag: Int) throws -> Int?
    /// Collective: every rank leaves after all have entered.
    func barrier() throws
}

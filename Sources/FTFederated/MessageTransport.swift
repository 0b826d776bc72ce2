import Foundation

/// How the coordinator and the sites exchange byte messages: the seam below the rounds. Peer 0
/// is the coordinator; a site is the peer its `SiteDescriptor.rank` names. `MessageChannel` carries
/// the messages over an MPI communicator (every site a rank of one job); `CoordinatorNetwork` and
/// `SiteNetwork` over TCP with mutual TLS (each site its own process, connecting out). Everything
/// above — sampling, signatures, aggregation, privacy, secure aggregation — is the same code.
///
/// A message to a peer that is not connected is dropped (the round's deadline deals with it),
/// never queued for a later connection: each message belongs to its round.
public protocol MessageTransport: AnyObject {
    /// Sends `bytes` to `peer` under `tag` (the tags of `RoundTag`).
    func send(_ bytes: [UInt8], to peer: Int, tag: Int) throws
    /// The next whole message from `peer` with `tag` if one has arrived, else nil.
    func poll(from peer: Int, tag: Int) throws -> [UInt8]?
    /// Waits for the next message from `peer` with `tag` (as long as the transport allows).
    func receiveWaiting(from peer: Int, tag: Int) throws -> [UInt8]
    /// Bytes sent and received per peer (message bytes and their framing), for `rounds.jsonl`.
    var bytesSent: [Int: Int] { get }
    var bytesReceived: [Int: Int] { get }
    /// Before a round: waits (within the transport's limits) for the sites `peers` to be reachable,
    /// so that sites that (re)connect take part; MPI's ranks always are.
    func awaitPeers(_ peers: [Int], minimum: Int) throws
    /// Whether a message sent to `peer` now would reach it: false for a site that is not connected
    /// (its messages are dropped), so a round can name it "not connected" rather than wait for its
    /// deadline; MPI's ranks always are.
    func isReachable(_ peer: Int) -> Bool
}

extension MessageTransport {
    /// Waits up to `timeout` seconds for the next message from `peer`; nil when none came in time.
    public func receive(from peer: Int, tag: Int, timeout: TimeInterval) throws -> [UInt8]? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            if let message = try poll(from: peer, tag: tag) { return message }
            if Date() >= deadline { return nil }
            usleep(1000)
        }
    }

    public func awaitPeers(_ peers: [Int], minimum: Int) throws {}

    public func isReachable(_ peer: Int) -> Bool { true }
}

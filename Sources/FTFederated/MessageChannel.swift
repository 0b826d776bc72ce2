import FTDist
import Foundation

/// Variable-length byte messages over a `Communicator` (whose messages are float arrays): an
/// 8-byte length header, then the bytes padded to whole floats. The coordinator waits on many
/// sites at once with `poll`, and every byte is counted for the federation's accounting.
public final class MessageChannel: MessageTransport {
    public let communicator: any Communicator
    /// Bytes this process sent and received through the channel, headers included, per peer.
    public private(set) var bytesSent: [Int: Int] = [:]
    public private(set) var bytesReceived: [Int: Int] = [:]

    public init(communicator: any Communicator) { self.communicator = communicator }

    public func send(_ bytes: [UInt8], to peer: Int, tag: Int) throws {
        var header = Self.header(bytes.count)
        try communicator.send(&header, count: 2, to: peer, tag: tag)
        var payload = [Float](repeating: 0, count: (bytes.count + 3) / 4)
        payload.withUnsafeMutableBytes { raw in bytes.withUnsafeBytes { raw.copyMemory(from: $0) } }
        try communicator.send(payload, count: payload.count, to: peer, tag: tag)
        bytesSent[peer, default: 0] += 8 + payload.count * 4
    }

    /// The next message from `peer` with `tag` if its header has arrived, else nil (does not wait
    /// for a message to start; once one has, receives it whole).
    public func poll(from peer: Int, tag: Int) throws -> [UInt8]? {
        guard let count = try communicator.probe(from: peer, tag: tag) else { return nil }
        guard count == 2 else {
            throw CommunicatorError(
                .sizeMismatch, peer: peer, operation: "message header",
                message: "expected a 2-float length header from rank \(peer) (tag \(tag)), found \(count) floats")
        }
        return try receiveWaiting(from: peer, tag: tag)
    }

    /// Waits for the next message from `peer` as long as the communicator's own receive waits
    /// (its time-out, or until the world is aborted).
    public func receiveWaiting(from peer: Int, tag: Int) throws -> [UInt8] {
        var header = [Float](repeating: 0, count: 2)
        try communicator.receive(&header, count: 2, from: peer, tag: tag)
        let length = Self.length(header)
        var payload = [Float](repeating: 0, count: (length + 3) / 4)
        try communicator.receive(&payload, count: payload.count, from: peer, tag: tag)
        bytesReceived[peer, default: 0] += 8 + payload.count * 4
        return payload.withUnsafeBytes { Array($0.prefix(length)) }
    }

    /// The byte count as the bit patterns of two floats (exact for any length).
    static func header(_ length: Int) -> [Float] {
        let value = UInt64(length)
        return [Float(bitPattern: UInt32(truncatingIfNeeded: value)), Float(bitPattern: UInt32(truncatingIfNeeded: value >> 32))]
    }

    static func length(_ header: [Float]) -> Int {
        Int(UInt64(header[0].bitPattern) | UInt64(header[1].bitPattern) << 32)
    }
}

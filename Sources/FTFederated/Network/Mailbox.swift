import Foundation
import NIOCore

/// Whole messages received from the network, by (peer, tag), until the rounds take them; and the
/// bytes on the wire per peer (message frames with their headers: not heartbeats, handshakes or
/// TLS records). Filled by the event loop, emptied by the thread running the rounds.
final class Mailbox: @unchecked Sendable {
    private struct Key: Hashable {
        let peer: Int, tag: Int
    }
    private let condition = NSCondition()
    private var messages: [Key: [[UInt8]]] = [:]
    private var sent: [Int: Int] = [:], received: [Int: Int] = [:]

    func put(_ bytes: [UInt8], from peer: Int, tag: Int) {
        condition.lock()
        messages[Key(peer: peer, tag: tag), default: []].append(bytes)
        condition.broadcast()
        condition.unlock()
    }

    func take(from peer: Int, tag: Int) -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        let key = Key(peer: peer, tag: tag)
        guard var queue = messages[key], !queue.isEmpty else { return nil }
        let first = queue.removeFirst()
        messages[key] = queue.isEmpty ? nil : queue
        return first
    }

    /// Waits for a message; every half second asks `check` whether to give up (it throws).
    func wait(from peer: Int, tag: Int, check: () throws -> Void) throws -> [UInt8] {
        while true {
            if let message = take(from: peer, tag: tag) { return message }
            try check()
            condition.lock()
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.5))
            condition.unlock()
        }
    }

    /// Wakes waiters so they re-check (a refusal, a shutdown).
    func wake() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    func countSent(_ bytes: Int, to peer: Int) { locked { sent[peer, default: 0] += bytes } }
    func countReceived(_ bytes: Int, from peer: Int) { locked { received[peer, default: 0] += bytes } }
    var bytesSent: [Int: Int] { locked { sent } }
    var bytesReceived: [Int: Int] { locked { received } }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}

/// Sends heartbeats on a connection that has written nothing for a period and drops one that
/// has read nothing (not even a heartbeat) for three: tells a dead peer from a slow one, whose
/// event loop still beats while its rounds thread trains. Swallows the heartbeats it receives.
final class HeartbeatHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundOut = Frame

    private let describe: @Sendable () -> String
    private let silence: Double
    private let log: @Sendable (String) -> Void

    init(silence: Double, describe: @escaping @Sendable () -> String, log: @escaping @Sendable (String) -> Void) {
        self.silence = silence
        self.describe = describe
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.kind != .heartbeat { context.fireChannelRead(data) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        switch idle {
        case .write:
            context.writeAndFlush(wrapOutboundOut(.control(.heartbeat)), promise: nil)
        case .read:
            log("no heartbeat from \(describe()) for \(String(format: "%g", silence)) s: connection dropped")
            context.close(promise: nil)
        case .all:
            break
        }
    }

    /// The handlers every federation connection has after TLS: frames, heartbeats.
    static func install(
        on channel: Channel, heartbeat: Double, describe: @escaping @Sendable () -> String, log: @escaping @Sendable (String) -> Void
    ) throws {
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(ByteToMessageHandler(FrameCodec.Decoder()))
        try operations.addHandler(MessageToByteHandler(FrameCodec.Encoder()))
        try operations.addHandler(
            IdleStateHandler(
                readTimeout: .milliseconds(Int64(heartbeat * 3000)), writeTimeout: .milliseconds(Int64(heartbeat * 1000))))
        try operations.addHandler(HeartbeatHandler(silence: heartbeat * 3, describe: describe, log: log))
    }
}

extension Channel {
    /// Writes a message's frames, waits until they are on the wire; the bytes written, or nil
    /// when the connection failed meanwhile.
    func writeMessage(_ bytes: [UInt8], tag: Int, chunkBytes: Int) -> Int? {
        let frames = FrameCodec.frames(of: bytes, tag: tag, chunkBytes: chunkBytes, allocator: allocator)
        for frame in frames.dropLast() { write(frame, promise: nil) }
        do { try writeAndFlush(frames.last!).wait() } catch { return nil }
        return frames.count * Frame.headerBytes + bytes.count
    }
}

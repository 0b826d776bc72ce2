import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A site's side of the network transport (`fttrain federated join`): connects out to the
/// coordinator, answers its challenge with the site's Ed25519 key, and reconnects with
/// exponential backoff (0.5 s doubling to 15 s) whenever the connection drops — a coordinator
/// that restarts finds its sites back. The coordinator is peer 0. A refusal (unknown site, wrong
/// key or federation) is final: the next wait throws it.
public final class SiteNetwork: MessageTransport, @unchecked Sendable {
    public let settings: NetworkSettings
    private let signer: UpdateSigner
    private let log: @Sendable (String) -> Void
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let mailbox = Mailbox()
    private let lock = NSLock()
    private var connection: Channel?
    private var disconnectedSince = Date()
    private var refusal: String?
    private var stopped = false
    private var connector: Thread?

    public init(settings: NetworkSettings, signer: UpdateSigner, log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.signer = signer
        self.log = log
    }

    /// Starts connecting (in the background; `receiveWaiting` waits for the coordinator).
    public func start() throws {
        guard let target = settings.coordinator else { throw FederationError(description: "network.coordinator (host:port) is required to join") }
        let ssl = try settings.sslContext(server: false)
        let thread = Thread { [self] in connectLoop(target, ssl) }
        thread.name = "federation-connect"
        connector = thread
        thread.start()
    }

    /// Stops reconnecting and closes the connection.
    public func shutdown() {
        let channel = lock.withLock { () -> Channel? in
            stopped = true
            return connection
        }
        try? channel?.close().wait()
        mailbox.wake()
        while connector?.isFinished == false { usleep(10_000) }
        try? group.syncShutdownGracefully()
    }

    public var isConnected: Bool { lock.withLock { connection != nil } }
    public var bytesSent: [Int: Int] { mailbox.bytesSent }
    public var bytesReceived: [Int: Int] { mailbox.bytesReceived }

    public func send(_ bytes: [UInt8], to peer: Int, tag: Int) throws {
        guard bytes.count <= settings.maxMessageBytes else {
            throw FederationError(
                description: "\(signer.site): a message of \(bytes.count) bytes is over network.max_message_bytes \(settings.maxMessageBytes)")
        }
        guard let channel = lock.withLock({ connection }) else {
            return log("not connected to the coordinator: a message of \(bytes.count) bytes is dropped")
        }
        guard let wire = channel.writeMessage(bytes, tag: tag, chunkBytes: settings.chunkBytes) else {
            return log("the connection to the coordinator broke while sending")
        }
        mailbox.countSent(wire, to: peer)
    }

    public func poll(from peer: Int, tag: Int) throws -> [UInt8]? {
        try check()
        return mailbox.take(from: peer, tag: tag)
    }

    public func receiveWaiting(from peer: Int, tag: Int) throws -> [UInt8] {
        try mailbox.wait(from: peer, tag: tag) { try check() }
    }

    private func check() throws {
        let (refusal, away, stopped) = lock.withLock {
            (self.refusal, connection == nil ? Date().timeIntervalSince(disconnectedSince) : 0, self.stopped)
        }
        if let refusal { throw FederationError(description: "the coordinator refused \(signer.site): \(refusal)") }
        if stopped { throw FederationError(description: "the site's network transport was shut down") }
        if away > settings.giveUpAfter {
            throw FederationError(description: "no connection to the coordinator for \(Int(away)) s (network.give_up_after)")
        }
    }

    // MARK: - Connecting

    private func connectLoop(_ target: NetworkSettings.Endpoint, _ ssl: NIOSSLContext?) {
        var backoff = 0.5
        let heartbeat = settings.heartbeatSeconds
        while !lock.withLock({ stopped || refusal != nil }) {
            let bootstrap = ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let ssl { try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: ssl, serverHostname: nil)) }
                        try HeartbeatHandler.install(on: channel, heartbeat: heartbeat, describe: { "the coordinator" }, log: log)
                        try channel.pipeline.syncOperations.addHandler(SiteConnection(network: self))
                    }
                }
            do {
                let channel = try bootstrap.connect(host: target.host, port: target.port).wait()
                try? channel.closeFuture.wait()
                let wasAdmitted = lock.withLock { () -> Bool in
                    guard connection === channel else { return false }
                    connection = nil
                    disconnectedSince = Date()
                    return true
                }
                if wasAdmitted {
                    backoff = 0.5
                    if !lock.withLock({ stopped }) { log("connection to the coordinator at \(target) lost") }
                }
            } catch {
                log("cannot reach the coordinator at \(target): \(error)")
            }
            if lock.withLock({ stopped || refusal != nil }) { break }
            Thread.sleep(forTimeInterval: backoff * Double.random(in: 0.8...1.2))
            backoff = min(backoff * 2, 15)
        }
        mailbox.wake()
    }

    // MARK: - Called by the connection (on the event loop)

    func hello(nonce: Data) throws -> [UInt8] {
        let hello = [
            "site": signer.site, "federation_id": signer.federationID,
            "signature": try signer.signHello(nonce: nonce).base64EncodedString(),
        ]
        return [UInt8](try JSONSerialization.data(withJSONObject: hello, options: [.sortedKeys]))
    }

    func admitted(_ channel: Channel) {
        lock.withLock { connection = channel }
        log("\(signer.site) joined the coordinator at \(settings.coordinator.map { "\($0)" } ?? "?")")
    }

    func refused(_ reason: String) {
        lock.withLock { refusal = reason }
        log("the coordinator refused \(signer.site): \(reason)")
        mailbox.wake()
    }

    func received(_ bytes: [UInt8], tag: Int) { mailbox.put(bytes, from: 0, tag: tag) }
    func countReceived(_ bytes: Int) { mailbox.countReceived(bytes, from: 0) }
    func report(_ message: String) { log(message) }
}

/// The site's connection: answers the challenge, then message frames.
final class SiteConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private let network: SiteNetwork
    private var assembler: MessageAssembler

    init(network: SiteNetwork) {
        self.network = network
        assembler = MessageAssembler(limit: network.settings.maxMessageBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.kind {
        case .challenge:
            do {
                let hello = try network.hello(nonce: Data(frame.payload.readableBytesView))
                var payload = context.channel.allocator.buffer(capacity: hello.count)
                payload.writeBytes(hello)
                context.writeAndFlush(wrapOutboundOut(Frame(kind: .hello, total: UInt64(hello.count), payload: payload)), promise: nil)
            } catch {
                network.report("cannot answer the coordinator's challenge: \(error)")
                context.close(promise: nil)
            }
        case .welcome:
            network.admitted(context.channel)
        case .refuse:
            network.refused(frame.text)
            context.close(promise: nil)
        case .dropped:
            network.report("the coordinator dropped a message: \(frame.text)")
        case .chunk:
            network.countReceived(Frame.headerBytes + frame.payload.readableBytes)
            do {
                switch try assembler.add(frame) {
                case .message(let bytes): network.received(bytes, tag: Int(frame.tag))
                case .tooLarge(let total):
                    network.report("a message of \(total) bytes from the coordinator is over network.max_message_bytes: dropped")
                case .incomplete, .skipped: break
                }
            } catch {
                network.report("\(error)")
                context.close(promise: nil)
            }
        default:
            network.report("the coordinator sent an unexpected \(frame.kind) frame")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        network.report("connection to the coordinator failed: \(error)")
        context.close(promise: nil)
    }
}

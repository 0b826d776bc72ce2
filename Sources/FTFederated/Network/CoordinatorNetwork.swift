import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import X509

/// The coordinator's side of the network transport (`fttrain federated serve`): listens, admits
/// a site whose TLS certificate the federation's CA signed for the site its hello names, and who
/// signs the connection challenge with its registered Ed25519 key, and carries the rounds' messages to and from the admitted
/// sites. A site that reconnects replaces its old connection; a message to a site that is not
/// connected is dropped (the round's deadline leaves the site out, named in `rounds.jsonl`).
public final class CoordinatorNetwork: MessageTransport, @unchecked Sendable {
    public let settings: NetworkSettings
    private let registry: SiteRegistry
    /// Site name → peer (its `SiteDescriptor.rank`).
    private let peers: [String: Int]
    private let names: [Int: String]
    private let log: @Sendable (String) -> Void
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let mailbox = Mailbox()
    private let lock = NSLock()
    private var connections: [Int: Channel] = [:]
    private var server: Channel?
    private var roundsStarted = false

    public init(settings: NetworkSettings, registry: SiteRegistry, sites: [SiteDescriptor], log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.registry = registry
        peers = Dictionary(uniqueKeysWithValues: sites.map { ($0.name, $0.rank) })
        names = Dictionary(uniqueKeysWithValues: sites.map { ($0.rank, $0.name) })
        self.log = log
    }

    /// Starts listening on `network.listen`; returns the port (useful with port 0).
    @discardableResult
    public func start() throws -> Int {
        guard let listen = settings.listen else { throw FederationError(description: "network.listen (host:port) is required to serve") }
        let ssl = try settings.sslContext(server: true)
        let heartbeat = settings.heartbeatSeconds
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let address = channel.remoteAddress.map { "\($0)" } ?? "?"
                    if let ssl { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: ssl)) }
                    let handler = CoordinatorConnection(network: self, address: address)
                    try HeartbeatHandler.install(on: channel, heartbeat: heartbeat, describe: { handler.who }, log: log)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        do {
            server = try bootstrap.bind(host: listen.host, port: listen.port).wait()
        } catch {
            throw FederationError(description: "cannot listen on \(listen): \(error)")
        }
        let port = server?.localAddress?.port ?? listen.port
        log("coordinator listening on \(listen.host):\(port)" + (ssl == nil ? " (PLAINTEXT: tests only)" : " (mutual TLS)"))
        return port
    }

    /// Closes every connection and the listener.
    public func shutdown() {
        let channels = lock.withLock { Array(connections.values) + (server.map { [$0] } ?? []) }
        for channel in channels { try? channel.close().wait() }
        try? group.syncShutdownGracefully()
    }

    public var bytesSent: [Int: Int] { mailbox.bytesSent }
    public var bytesReceived: [Int: Int] { mailbox.bytesReceived }
    /// The sites connected now.
    public var connectedSites: [String] { lock.withLock { connections.keys.compactMap { names[$0] }.sorted() } }

    public func isReachable(_ peer: Int) -> Bool { lock.withLock { connections[peer] != nil } }

    public func send(_ bytes: [UInt8], to peer: Int, tag: Int) throws {
        let name = names[peer] ?? "peer \(peer)"
        guard bytes.count <= settings.maxMessageBytes else {
            throw FederationError(
                description: "a message of \(bytes.count) bytes for \(name) is over network.max_message_bytes \(settings.maxMessageBytes)")
        }
        guard let channel = lock.withLock({ connections[peer] }) else { return }  // not connected: the deadline deals with it
        guard let wire = channel.writeMessage(bytes, tag: tag, chunkBytes: settings.chunkBytes) else {
            return log("\(name): connection lost while sending")
        }
        mailbox.countSent(wire, to: peer)
    }

    public func poll(from peer: Int, tag: Int) throws -> [UInt8]? { mailbox.take(from: peer, tag: tag) }

    public func receiveWaiting(from peer: Int, tag: Int) throws -> [UInt8] {
        try mailbox.wait(from: peer, tag: tag) {}
    }

    /// Before the first round: up to `wait_for_sites` for every site; before later ones, up to
    /// `rejoin_grace` for sites that are away (then the round goes on with those present, if
    /// `minimum` are), and up to `wait_for_sites` while fewer than `minimum` are connected.
    public func awaitPeers(_ expected: [Int], minimum: Int) throws {
        let first = !roundsStarted
        roundsStarted = true
        let patience = first ? settings.waitForSites : settings.rejoinGrace
        let start = Date()
        var announced = false
        while true {
            let connected = lock.withLock { expected.filter { connections[$0] != nil } }
            if connected.count == expected.count { return }
            let waited = Date().timeIntervalSince(start)
            if waited >= patience && connected.count >= minimum {
                let away = expected.filter { !connected.contains($0) }.compactMap { names[$0] }
                return log("going on without \(away.joined(separator: ", ")) (not connected)")
            }
            if waited >= max(patience, settings.waitForSites) {
                throw FederationError(
                    description: "only \(connected.count) of \(expected.count) sites connected after \(Int(waited)) s (min_sites \(minimum))")
            }
            if !announced && first {
                announced = true
                log("waiting up to \(Int(patience)) s for \(expected.count - connected.count) of \(expected.count) sites to connect")
            }
            usleep(20_000)
        }
    }

    // MARK: - Called by the connections (on the event loop)

    /// Checks a site's answer to the challenge — its federation, its name in the registry, the
    /// names of its TLS certificate (`certificateNames`, nil without TLS), its signature — and on
    /// success the connection becomes the site's. A refused connection never replaces another.
    func admit(
        site: String, federationID: String, signature: Data, nonce: Data, certificateNames: [String]?, channel: Channel, address: String
    ) -> String? {
        guard federationID == registry.federationID else {
            return "federation id \"\(federationID)\" is not this coordinator's \"\(registry.federationID)\""
        }
        guard let peer = peers[site] else { return "\"\(site)\" is not in the federation's site registry" }
        if let certificateNames, !certificateNames.contains(site) {
            let holder = certificateNames.isEmpty ? "names no site" : "is \(certificateNames.joined(separator: ", "))'s"
            return "its TLS certificate \(holder), but its hello says \(site): a site connects with its own certificate"
        }
        do { try registry.verifyHello(nonce: nonce, signature: signature, site: site) } catch {
            return "\(site)'s signature of the challenge does not match its registered public key"
        }
        let previous = lock.withLock { () -> Channel? in
            let old = connections[peer]
            connections[peer] = channel
            return old
        }
        if let previous, previous !== channel {
            log("\(site) reconnected from \(address): its previous connection is closed")
            previous.close(promise: nil)
        } else {
            log("\(site) connected from \(address)")
        }
        return nil
    }

    func peer(of site: String) -> Int? { peers[site] }

    func received(_ bytes: [UInt8], from peer: Int, tag: Int) { mailbox.put(bytes, from: peer, tag: tag) }
    func countReceived(_ bytes: Int, from peer: Int) { mailbox.countReceived(bytes, from: peer) }

    func closed(_ channel: Channel, site: String?) {
        guard let site, let peer = peers[site] else { return }
        let removed = lock.withLock { () -> Bool in
            guard connections[peer] === channel else { return false }
            connections[peer] = nil
            return true
        }
        if removed { log("\(site) disconnected") }
    }

    func report(_ message: String) { log(message) }
}

/// One site's connection at the coordinator: challenge, hello, then message frames.
final class CoordinatorConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private let network: CoordinatorNetwork
    private let address: String
    private let nonce = Data((0..<32).map { _ in UInt8.random(in: .min ... .max) })
    private var site: String?
    private var assembler: MessageAssembler

    var who: String { site.map { "\($0) (\(address))" } ?? address }

    init(network: CoordinatorNetwork, address: String) {
        self.network = network
        self.address = address
        assembler = MessageAssembler(limit: network.settings.maxMessageBytes)
    }

    func channelActive(context: ChannelHandlerContext) {
        var payload = context.channel.allocator.buffer(capacity: nonce.count)
        payload.writeBytes(nonce)
        context.writeAndFlush(wrapOutboundOut(Frame(kind: .challenge, total: UInt64(nonce.count), payload: payload)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.kind {
        case .hello where site == nil:
            let hello = try? JSONSerialization.jsonObject(with: Data(frame.payload.readableBytesView)) as? [String: String]
            guard let hello, let name = hello["site"], let federation = hello["federation_id"],
                let signature = hello["signature"].flatMap({ Data(base64Encoded: $0) })
            else { return refuse(context, "a malformed hello") }
            if let reason = network.admit(
                site: name, federationID: federation, signature: signature, nonce: nonce,
                certificateNames: certificateNames(context), channel: context.channel, address: address)
            {
                return refuse(context, reason)
            }
            site = name
            context.writeAndFlush(wrapOutboundOut(.control(.welcome)), promise: nil)
        case .chunk:
            guard let site, let peer = network.peer(of: site) else { return refuse(context, "a message before the hello") }
            network.countReceived(Frame.headerBytes + frame.payload.readableBytes, from: peer)
            do {
                switch try assembler.add(frame) {
                case .message(let bytes): network.received(bytes, from: peer, tag: Int(frame.tag))
                case .tooLarge(let total):
                    let reason =
                        "a message of \(total) bytes from \(site) is over network.max_message_bytes \(network.settings.maxMessageBytes): dropped"
                    network.report(reason)
                    context.writeAndFlush(wrapOutboundOut(.control(.dropped, reason)), promise: nil)
                case .incomplete, .skipped: break
                }
            } catch {
                refuse(context, "\(error)")
            }
        default:
            refuse(context, "an unexpected \(frame.kind) frame")
        }
    }

    /// The site names of the peer's TLS certificate (the handshake, done before any frame, has
    /// checked the CA's signature); nil without TLS (plaintext, tests only).
    private func certificateNames(_ context: ChannelHandlerContext) -> [String]? {
        guard network.settings.tls != nil else { return nil }
        guard let peer = try? context.pipeline.syncOperations.nioSSL_peerCertificate(), let der = try? peer.toDERBytes(),
            let certificate = try? Certificate(derEncoded: der)
        else { return [] }
        return FederationTLS.siteNames(of: certificate)
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        network.report("refused \(who): \(reason)")
        context.writeAndFlush(wrapOutboundOut(.control(.refuse, reason))).whenComplete { _ in context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        network.closed(context.channel, site: site)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A certificate the federation's CA did not sign fails the handshake here, before any hello.
        network.report(
            error is NIOSSLError && site == nil ? "refused \(who): TLS: \(error)" : "connection of \(who) failed: \(error)")
        context.close(promise: nil)
    }
}

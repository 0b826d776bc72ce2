import Foundation
import NIOSSL
import Yams

/// The `network:` section of a federation config, for `fttrain federated serve` (the coordinator
/// listens) and `fttrain federated join` (a site connects out):
///
/// ```yaml
/// network:
///   listen: 0.0.0.0:7450          # serve: where the coordinator listens
///   coordinator: 10.0.0.1:7450    # join: where the site connects
///   site: hospital-a              # join: which entry of `sites:` this process is
///   tls: {ca: ca.pem, cert: hospital-a.pem, key: hospital-a.key}
///   max_message_bytes: 268435456  # a larger message is refused (both sides check their own limit)
///   chunk_bytes: 1048576          # a message travels in frames of at most this many bytes
///   heartbeat_seconds: 5          # a connection silent for 3 heartbeats is dropped
///   wait_for_sites: 300           # before round 1: seconds to wait for every site to connect
///   rejoin_grace: 2               # before later rounds: seconds to wait for missing sites
///   give_up_after: 3600           # a site: seconds without the coordinator before it stops
/// ```
///
/// Without `tls:` the transport refuses to start unless `insecure_plaintext: true` (tests only).
public struct NetworkSettings: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { "\(host):\(port)" }

        /// `host:port` (an IPv6 host in brackets).
        public static func parse(_ text: String) -> Endpoint? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
            else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : Endpoint(host: host, port: port)
        }
    }

    /// PEM files: the federation's CA, and this process's certificate (signed by the CA) and key.
    public struct TLSFiles: Sendable, Equatable {
        public var ca: String
        public var cert: String
        public var key: String
        public init(ca: String, cert: String, key: String) {
            self.ca = ca
            self.cert = cert
            self.key = key
        }
    }

    public var listen: Endpoint?
    public var coordinator: Endpoint?
    public var site: String?
    public var tls: TLSFiles?
    public var insecurePlaintext = false
    public var maxMessageBytes = 256 << 20
    public var chunkBytes = 1 << 20
    public var heartbeatSeconds = 5.0
    public var waitForSites = 300.0
    public var rejoinGrace = 2.0
    public var giveUpAfter = 3600.0

    public init() {}

    static func decode(_ node: Node, source: String) throws -> NetworkSettings {
        func fail(_ message: String) -> FederationError { FederationError(description: "\(source): network.\(message)") }
        guard case .mapping(let m) = node else { throw FederationError(description: "\(source): `network` must be a mapping") }
        let known: Set<String> = [
            "listen", "coordinator", "site", "tls", "insecure_plaintext", "max_message_bytes", "chunk_bytes",
            "heartbeat_seconds", "wait_for_sites", "rejoin_grace", "give_up_after",
        ]
        for key in m.keys {
            if let k = key.string, !known.contains(k) { throw fail("\(k) is not a known key (known: \(known.sorted().joined(separator: ", ")))") }
        }
        var settings = NetworkSettings()
        func endpoint(_ key: String) throws -> Endpoint? {
            guard let node = m[key] else { return nil }
            guard let text = node.string, let value = Endpoint.parse(text) else {
                throw fail("\(key) must be host:port, found \(node.string ?? "?")")
            }
            return value
        }
        func integer(_ key: String, _ minimum: Int) throws -> Int? {
            guard let node = m[key] else { return nil }
            guard let value = node.string.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), value >= minimum else {
                throw fail("\(key) must be an integer >= \(minimum)")
            }
            return value
        }
        func seconds(_ key: String) throws -> Double? {
            guard let node = m[key] else { return nil }
            guard let value = node.float, value > 0 else { throw fail("\(key) must be a positive number of seconds") }
            return value
        }
        settings.listen = try endpoint("listen")
        settings.coordinator = try endpoint("coordinator")
        settings.site = m["site"]?.string
        if let node = m["tls"] {
            guard case .mapping(let t) = node, let ca = t["ca"]?.string, let cert = t["cert"]?.string, let key = t["key"]?.string else {
                throw fail("tls must be {ca: CA.pem, cert: CERT.pem, key: KEY.pem}")
            }
            settings.tls = TLSFiles(ca: ca, cert: cert, key: key)
        }
        if let node = m["insecure_plaintext"] {
            guard let value = node.bool else { throw fail("insecure_plaintext must be true or false") }
            settings.insecurePlaintext = value
        }
        settings.maxMessageBytes = try integer("max_message_bytes", 1024) ?? settings.maxMessageBytes
        settings.chunkBytes = try integer("chunk_bytes", 1024) ?? settings.chunkBytes
        guard settings.chunkBytes <= FrameCodec.maxChunk else { throw fail("chunk_bytes must be at most \(FrameCodec.maxChunk)") }
        settings.heartbeatSeconds = try seconds("heartbeat_seconds") ?? settings.heartbeatSeconds
        settings.waitForSites = try seconds("wait_for_sites") ?? settings.waitForSites
        settings.rejoinGrace = try seconds("rejoin_grace") ?? settings.rejoinGrace
        settings.giveUpAfter = try seconds("give_up_after") ?? settings.giveUpAfter
        return settings
    }

    /// The TLS context of this side: the own certificate, and the CA every peer must be signed by
    /// (mutual TLS: the coordinator requires a site certificate, the site checks the coordinator's).
    /// nil for plaintext, which must be asked for.
    func sslContext(server: Bool) throws -> NIOSSLContext? {
        guard let tls else {
            guard insecurePlaintext else {
                throw FederationError(description: "network.tls is required (or insecure_plaintext: true, for tests only)")
            }
            return nil
        }
        for (what, path) in [("ca", tls.ca), ("cert", tls.cert), ("key", tls.key)] where !FileManager.default.fileExists(atPath: path) {
            throw FederationError(description: "network.tls.\(what): \(path): file not found")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.cert).map { NIOSSLCertificateSource.certificate($0) }
            let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem))
            let roots = NIOSSLTrustRoots.certificates(try NIOSSLCertificate.fromPEMFile(tls.ca))
            var configuration: TLSConfiguration
            if server {
                configuration = .makeServerConfigurationWithMTLS(certificateChain: chain, privateKey: key, trustRoots: roots)
            } else {
                configuration = .makeClientConfiguration()
                configuration.certificateChain = chain
                configuration.privateKey = key
                configuration.trustRoots = roots
            }
            // The federation's own CA vouches for every party; names are checked by the Ed25519 hello.
            configuration.certificateVerification = .noHostnameVerification
            configuration.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw FederationError(description: "network.tls (\(tls.cert), \(tls.key), \(tls.ca)): \(error)")
        }
    }
}

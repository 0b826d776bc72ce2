import Crypto
import FTCore
import FTDist
@testable import FTFederated
import Foundation
import XCTest

/// The network transport on loopback: a coordinator and sites on threads of this process, each
/// site with its own connection (mutual TLS with the fixture CA), running the very rounds the MPI
/// transport runs — and giving the very same bytes.
final class NetworkTransportTests: XCTestCase {
    /// Values handed to the site threads, each of which is the only one to use them.
    struct Unchecked<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    typealias ShiftTrainer = FederatedRoundsTests.ShiftTrainer

    /// Rank-4 LoRA on a 96-wide layer: a ~3 KB message, several 1 KB chunks.
    private let global = AdapterUpdate(
        modules: [
            "base_model.model.bert.encoder.layer.0.attention.self.query":
                LoRAFactors(
                    a: (0..<384).map { Float($0 % 17) * 0.01 }, b: (0..<384).map { Float($0 % 13) * -0.02 }, rank: 4,
                    inFeatures: 96, outFeatures: 96)
        ],
        dense: ["base_model.model.classifier.modules_to_save.default.weight": [0.5, -0.5, 1]], examples: 0)

    private let names = ["site-1", "site-2", "site-3"]
    private let signing = (0..<3).map { _ in UpdateSigner.generateIdentity() }
    private let agreement = (0..<3).map { _ in Curve25519.KeyAgreement.PrivateKey() }
    private var descriptors: [SiteDescriptor] { names.enumerated().map { SiteDescriptor(name: $0.element, rank: $0.offset + 1) } }
    private func registry(_ federationID: String = "fttrain") throws -> SiteRegistry {
        try SiteRegistry(
            publicKeys: Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, signing[$0.offset].publicKeyBase64) }),
            federationID: federationID)
    }

    /// Log lines of the transports, for the assertions on what was refused.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var sink: @Sendable (String) -> Void { { line in self.lock.withLock { self.lines.append(line) } } }
        func contains(_ text: String) -> Bool { lock.withLock { lines.contains { $0.contains(text) } } }
        var all: String { lock.withLock { lines.joined(separator: "\n") } }
    }

    private func tls(_ name: String) throws -> NetworkSettings.TLSFiles {
        func path(_ file: String) throws -> String {
            try XCTUnwrap(Bundle.module.url(forResource: file, withExtension: nil, subdirectory: "Fixtures/tls")).path
        }
        return .init(ca: try path("ca.pem"), cert: try path("\(name).pem"), key: try path("\(name).key"))
    }

    private func coordinatorSettings(port: Int = 0) throws -> NetworkSettings {
        var settings = NetworkSettings()
        settings.listen = .init(host: "127.0.0.1", port: port)
        settings.tls = try tls("coordinator")
        settings.chunkBytes = 1024
        settings.heartbeatSeconds = 0.2
        settings.waitForSites = 20
        settings.rejoinGrace = 3
        return settings
    }

    private func siteSettings(port: Int, certificate: String) throws -> NetworkSettings {
        var settings = NetworkSettings()
        settings.coordinator = .init(host: "127.0.0.1", port: port)
        settings.tls = try tls(certificate)
        settings.chunkBytes = 1024
        settings.heartbeatSeconds = 0.2
        settings.giveUpAfter = 30
        return settings
    }

    private func federationSettings(rounds: Int) -> FederationSettings {
        var settings = FederationSettings(rounds: rounds, mode: .fedavg)
        settings.roundDeadline = 5
        settings.minimumSites = 2
        return settings
    }

    /// Site `index` on its own thread until the coordinator stops it (or its transport fails).
    private func startSite(
        _ index: Int, port: Int, settings: FederationSettings, trainer: ShiftTrainer, log: Log, done: DispatchGroup,
        onTransport: @escaping @Sendable (SiteNetwork) -> Void = { _ in }
    ) throws {
        let network = try siteSettings(port: port, certificate: names[index])
        let signer = UpdateSigner(site: names[index], privateKey: signing[index].privateKey, federationID: settings.federationID)
        let peers = Dictionary(uniqueKeysWithValues: agreement.enumerated().map { ($0.offset, $0.element.publicKey) })
        let keys = Unchecked((signer, agreement[index], peers, trainer))
        done.enter()
        let thread = Thread {
            defer { done.leave() }
            let (signer, key, peers, trainer) = keys.value
            let transport = SiteNetwork(settings: network, signer: signer, log: log.sink)
            onTransport(transport)
            do {
                try transport.start()
                try FederatedSite(
                    channel: transport, index: index, settings: settings, signer: signer, keyAgreement: key, peers: peers,
                    trainer: trainer, noiseSeed: 7 + UInt64(index)
                ).run()
            } catch {
                log.sink("site thread \(index) ended: \(error)")
            }
            transport.shutdown()
        }
        thread.start()
    }

    /// The same federation over the in-process (MPI-like) message channel.
    private func runInProcess(_ settings: FederationSettings, _ trainers: [ShiftTrainer]) throws -> (AdapterUpdate, [RoundRecord]) {
        let initial = global, descriptors = descriptors, registry = try registry(settings.federationID)
        let signers = (0..<3).map { UpdateSigner(site: names[$0], privateKey: signing[$0].privateKey, federationID: settings.federationID) }
        let shared = Unchecked((registry, signers, agreement, trainers))
        let results = try InProcessCommunicator.run(size: 4, receiveTimeout: 30) { communicator -> (AdapterUpdate?, [RoundRecord]) in
            let (registry, signers, agreement, trainers) = shared.value
            let channel = MessageChannel(communicator: communicator)
            if communicator.rank == 0 {
                var records: [RoundRecord] = []
                let coordinator = FederatedCoordinator(channel: channel, sites: descriptors, settings: settings, registry: registry)
                let final = try coordinator.run(initial: initial) { record, _ in records.append(record) }
                return (final, records)
            }
            let index = communicator.rank - 1
            try FederatedSite(
                channel: channel, index: index, settings: settings, signer: signers[index], keyAgreement: agreement[index],
                peers: Dictionary(uniqueKeysWithValues: agreement.enumerated().map { ($0.offset, $0.element.publicKey) }),
                trainer: trainers[index], noiseSeed: 7 + UInt64(index)
            ).run()
            return (nil, [])
        }
        return (results[0].0!, results[0].1)
    }

    private func trainers() -> [ShiftTrainer] {
        [ShiftTrainer(shift: 1, examples: 10), ShiftTrainer(shift: 2, examples: 30), ShiftTrainer(shift: 4, examples: 60)]
    }

    private func summary(_ records: [RoundRecord]) -> [String] {
        records.map { "\($0.round) \($0.sampled) \($0.reported) \($0.missing.sorted { $0.key < $1.key })" }
    }

    func testRoundsOverTheNetworkEqualTheInProcessTransportByteForByte() throws {
        for secure in [false, true] {
            var settings = federationSettings(rounds: 2)
            settings.secureAggregation = secure
            let (expected, expectedRecords) = try runInProcess(settings, trainers())

            let log = Log(), done = DispatchGroup(), trainers = trainers()
            let coordinator = CoordinatorNetwork(
                settings: try coordinatorSettings(), registry: try registry(), sites: descriptors, log: log.sink)
            let port = try coordinator.start()
            for index in 0..<3 { try startSite(index, port: port, settings: settings, trainer: trainers[index], log: log, done: done) }
            var records: [RoundRecord] = [], globals = [global]
            let final = try FederatedCoordinator(channel: coordinator, sites: descriptors, settings: settings, registry: try registry())
                .run(initial: global) { record, next in
                    records.append(record)
                    globals.append(next)
                }
            XCTAssertEqual(done.wait(timeout: .now() + 20), .success, log.all)
            coordinator.shutdown()

            XCTAssertEqual(try AdapterCodec.encode(final), try AdapterCodec.encode(expected), "secure \(secure)")
            XCTAssertEqual(summary(records), summary(expectedRecords))
            guard !secure else { continue }
            // On the wire per site and round: the signed update in 1 KB chunks, 17 header bytes each.
            for round in 0..<2 {
                for (index, trainer) in trainers.enumerated() {
                    let payload = try AdapterCodec.encode(try trainer.train(from: globals[round], round: round), metadata: ["kind": "update"])
                    let message = 64 + payload.count
                    XCTAssertEqual(records[round].bytesSent[names[index]], message + (message + 1023) / 1024 * 17, "round \(round) \(names[index])")
                    let sent = try AdapterCodec.encode(globals[round], metadata: ["kind": "train", "round": String(round), "participants": "0,1,2"])
                    XCTAssertEqual(records[round].bytesReceived[names[index]], sent.count + (sent.count + 1023) / 1024 * 17)
                }
            }
        }
    }

    /// A site that dies mid-round is left out after the deadline and named; a replacement process
    /// joins and reports from the next round; a site slower than three heartbeats is not taken for dead.
    func testASiteThatDiesIsLeftOutAndItsReplacementRejoins() throws {
        var settings = federationSettings(rounds: 3)
        settings.roundDeadline = 1.5
        let log = Log(), done = DispatchGroup(), trainers = trainers()
        trainers[1].sleepInRound = [0: 1.0]  // 5 heartbeat periods of silence from its rounds thread
        let coordinator = CoordinatorNetwork(settings: try coordinatorSettings(), registry: try registry(), sites: descriptors, log: log.sink)
        let port = try coordinator.start()
        for index in 0..<2 { try startSite(index, port: port, settings: settings, trainer: trainers[index], log: log, done: done) }
        // Site 3 "dies" while training round 1: its connection closes and its process is gone.
        let dying = ShiftTrainer(shift: 4, examples: 60)
        final class Holder: @unchecked Sendable { var transport: SiteNetwork? }
        let holder = Holder()
        dying.onRound = { round in if round == 1 { holder.transport?.shutdown() } }
        let first = DispatchGroup()
        try startSite(2, port: port, settings: settings, trainer: dying, log: log, done: first) { holder.transport = $0 }
        let restarted = DispatchGroup()
        first.notify(queue: .global()) {
            try? self.startSite(2, port: port, settings: settings, trainer: trainers[2], log: log, done: restarted)
        }
        var records: [RoundRecord] = [], globals = [global]
        let final = try FederatedCoordinator(channel: coordinator, sites: descriptors, settings: settings, registry: try registry())
            .run(initial: global) { record, next in
                records.append(record)
                globals.append(next)
            }
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, log.all)
        XCTAssertEqual(restarted.wait(timeout: .now() + 20), .success, log.all)
        coordinator.shutdown()

        XCTAssertEqual(records.map(\.reported), [names, ["site-1", "site-2"], names], log.all)
        XCTAssertTrue(records[1].missing["site-3"]?.contains("deadline") ?? false, "\(records[1].missing)")
        XCTAssertTrue(log.contains("site-3 disconnected"), log.all)
        XCTAssertFalse(log.contains("no heartbeat"), log.all)
        let expectedRound1 = try LoRAAggregation.aggregate(
            try trainers.prefix(2).map { try $0.train(from: globals[1], round: 1) }, global: globals[1], mode: .fedavg)
        XCTAssertEqual(try AdapterCodec.encode(globals[2]), try AdapterCodec.encode(expectedRound1))
        let expectedFinal = try LoRAAggregation.aggregate(
            try trainers.map { try $0.train(from: globals[2], round: 2) }, global: globals[2], mode: .fedavg)
        XCTAssertEqual(try AdapterCodec.encode(final), try AdapterCodec.encode(expectedFinal))
    }

    /// A site away when the round starts is named "not connected" (it was never sent the round),
    /// distinct from a connected site that got the round and sent nothing before the deadline.
    func testASiteAwayAtTheRoundsStartIsRecordedAsNotConnected() throws {
        var settings = federationSettings(rounds: 2)
        settings.roundDeadline = 1
        settings.minimumSites = 1
        let log = Log(), done = DispatchGroup(), trainers = trainers()
        trainers[1].sleepInRound = [0: 1.5]  // connected, but misses round 0's deadline
        var network = try coordinatorSettings()
        network.waitForSites = 1
        network.rejoinGrace = 0.2
        let coordinator = CoordinatorNetwork(settings: network, registry: try registry(), sites: descriptors, log: log.sink)
        let port = try coordinator.start()
        for index in 0..<2 { try startSite(index, port: port, settings: settings, trainer: trainers[index], log: log, done: done) }
        var records: [RoundRecord] = []
        _ = try FederatedCoordinator(channel: coordinator, sites: descriptors, settings: settings, registry: try registry())
            .run(initial: global) { record, _ in records.append(record) }
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, log.all)
        coordinator.shutdown()

        XCTAssertEqual(records.map(\.sampled), [names, names])
        XCTAssertEqual(records.map(\.reported), [["site-1"], ["site-1", "site-2"]], log.all)
        XCTAssertEqual(records[0].missing["site-3"], "not connected when round 0 started")
        XCTAssertEqual(records[1].missing, ["site-3": "not connected when round 1 started"])
        XCTAssertEqual(records[0].missing["site-2"], "no update within the 1 s deadline")
        XCTAssertEqual(records.map { $0.bytesReceived["site-3"] }, [0, 0])  // nothing was sent to it
        XCTAssertTrue(log.contains("going on without site-3 (not connected)"), log.all)
        let sent = try XCTUnwrap(records[1].bytesSent["site-1"]), received = try XCTUnwrap(records[1].bytesReceived["site-1"])
        XCTAssertGreaterThan(sent, 3000)
        XCTAssertEqual(
            records[1].summary,
            "2 of 3 sites reported (site-1, site-2); bytes sent/received: site-1 \(sent)/\(received), "
                + "site-2 \(records[1].bytesSent["site-2"]!)/\(records[1].bytesReceived["site-2"]!), site-3 0/0; "
                + "missing: site-3 (not connected when round 1 started)")
    }

    /// Killed after round 0 and restarted on the same port, the coordinator continues from its
    /// state; the sites reconnect by themselves and the result is the uninterrupted one.
    func testACoordinatorRestartIsResumedAndTheSitesReconnect() throws {
        let settings = federationSettings(rounds: 3)
        let (expected, _) = try runInProcess(settings, trainers())
        let log = Log(), done = DispatchGroup(), trainers = trainers()
        let first = CoordinatorNetwork(settings: try coordinatorSettings(), registry: try registry(), sites: descriptors, log: log.sink)
        let port = try first.start()
        for index in 0..<3 { try startSite(index, port: port, settings: settings, trainer: trainers[index], log: log, done: done) }
        struct Crash: Error {}
        var saved = global
        XCTAssertThrowsError(
            try FederatedCoordinator(channel: first, sites: descriptors, settings: settings, registry: try registry())
                .run(initial: global) { _, next in
                    saved = next
                    throw Crash()
                })
        first.shutdown()

        let second = CoordinatorNetwork(
            settings: try coordinatorSettings(port: port), registry: try registry(), sites: descriptors, log: log.sink)
        try second.start()
        var records: [RoundRecord] = []
        let final = try FederatedCoordinator(channel: second, sites: descriptors, settings: settings, registry: try registry())
            .run(initial: saved, startRound: 1) { record, _ in records.append(record) }
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, log.all)
        second.shutdown()
        XCTAssertEqual(records.map(\.reported), [names, names])
        XCTAssertEqual(try AdapterCodec.encode(final), try AdapterCodec.encode(expected))
    }

    /// Mutual TLS: a certificate from another CA fails the handshake; a CA-signed site whose
    /// challenge signature is not its registered key, or of another federation, is refused.
    func testUnsignedCertificatesForgedHellosAndOtherFederationsAreRefused() throws {
        let log = Log()
        let coordinator = CoordinatorNetwork(settings: try coordinatorSettings(), registry: try registry(), sites: descriptors, log: log.sink)
        let port = try coordinator.start()
        defer { coordinator.shutdown() }

        let rogue = SiteNetwork(
            settings: try siteSettings(port: port, certificate: "rogue-site-2"),
            signer: UpdateSigner(site: "site-2", privateKey: signing[1].privateKey), log: log.sink)
        try rogue.start()
        let forged = SiteNetwork(
            settings: try siteSettings(port: port, certificate: "site-1"),
            signer: UpdateSigner(site: "site-1", privateKey: Curve25519.Signing.PrivateKey()), log: log.sink)
        try forged.start()
        let elsewhere = SiteNetwork(
            settings: try siteSettings(port: port, certificate: "site-3"),
            signer: UpdateSigner(site: "site-3", privateKey: signing[2].privateKey, federationID: "another"), log: log.sink)
        try elsewhere.start()
        XCTAssertThrowsError(try forged.receiveWaiting(from: 0, tag: RoundTag.control)) {
            XCTAssertTrue("\($0)".contains("signature of the challenge"), "\($0)")
        }
        XCTAssertThrowsError(try elsewhere.receiveWaiting(from: 0, tag: RoundTag.control)) {
            XCTAssertTrue("\($0)".contains("federation id \"another\""), "\($0)")
        }
        let deadline = Date(timeIntervalSinceNow: 5)
        while !log.contains("TLS") && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(log.contains("refused") && log.contains("TLS"), log.all)
        XCTAssertFalse(rogue.isConnected)
        XCTAssertEqual(coordinator.connectedSites, [])
        for site in [rogue, forged, elsewhere] { site.shutdown() }
    }

    /// A message over the receiver's max_message_bytes is dropped with an error on both sides
    /// (and the connection carries on); over the sender's own limit it is not sent at all.
    func testAMessageOverTheLimitIsRefusedOnBothSides() throws {
        let log = Log()
        var limited = try coordinatorSettings()
        limited.maxMessageBytes = 4096
        let coordinator = CoordinatorNetwork(settings: limited, registry: try registry(), sites: descriptors, log: log.sink)
        let port = try coordinator.start()
        defer { coordinator.shutdown() }
        let site = SiteNetwork(
            settings: try siteSettings(port: port, certificate: "site-1"),
            signer: UpdateSigner(site: "site-1", privateKey: signing[0].privateKey), log: log.sink)
        try site.start()
        defer { site.shutdown() }
        try coordinator.awaitPeers([1], minimum: 1)
        let joined = Date(timeIntervalSinceNow: 5)
        while !site.isConnected && Date() < joined { usleep(10_000) }
        try site.send([UInt8](repeating: 7, count: 10_000), to: 0, tag: 5)
        try site.send([1, 2, 3], to: 0, tag: 5)
        XCTAssertEqual(try coordinator.receive(from: 1, tag: 5, timeout: 5), [1, 2, 3])
        XCTAssertTrue(log.contains("a message of 10000 bytes from site-1 is over network.max_message_bytes 4096"), log.all)
        let deadline = Date(timeIntervalSinceNow: 5)
        while !log.contains("the coordinator dropped a message") && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(log.contains("the coordinator dropped a message"), log.all)
        XCTAssertThrowsError(try coordinator.send([UInt8](repeating: 0, count: 5000), to: 1, tag: 5)) {
            XCTAssertTrue("\($0)".contains("max_message_bytes 4096"), "\($0)")
        }
    }

    /// The signature binds federation id, round and site: a replayed update of an earlier round,
    /// or one signed for another federation, does not verify.
    func testUpdatesAreBoundToTheirFederationAndRound() throws {
        let payload = [UInt8](repeating: 3, count: 100)
        let signer = UpdateSigner(site: "site-1", privateKey: signing[0].privateKey, federationID: "trial-7")
        let sealed = try Envelope.seal(payload, signer: signer, round: 4)
        XCTAssertEqual(try Envelope.open(sealed, site: "site-1", round: 4, registry: try registry("trial-7")), payload)
        XCTAssertThrowsError(try Envelope.open(sealed, site: "site-1", round: 5, registry: try registry("trial-7")))
        XCTAssertThrowsError(try Envelope.open(sealed, site: "site-1", round: 4, registry: try registry("trial-8")))
        XCTAssertThrowsError(try Envelope.open(sealed, site: "site-2", round: 4, registry: try registry("trial-7")))
    }

    /// The `network:` section: sites need no ranks, every key is checked and named.
    func testTheNetworkSectionOfTheConfig() throws {
        func yaml(_ network: String, ranks: Bool = false) -> String {
            var text = "model_dir: /models/minilm\noutput_dir: runs/fed\nfederation:\n  rounds: 2\n  labels: [a, b]\nsites:\n"
            for (i, name) in names.enumerated() {
                text += "  - name: \(name)\n    train_file: \(name).csv\n    public_key: \(signing[i].publicKeyBase64)\n"
                if ranks { text += "    ranks: [\(i + 1)]\n" }
            }
            return text + network
        }
        let serve = try FederatedConfiguration.decode(
            yaml: yaml("network:\n  listen: 0.0.0.0:7450\n  tls: {ca: ca.pem, cert: c.pem, key: c.key}\n  chunk_bytes: 65536\n"),
            source: "fed.yaml")
        XCTAssertEqual(serve.network?.listen, .init(host: "0.0.0.0", port: 7450))
        XCTAssertEqual(serve.network?.chunkBytes, 65536)
        XCTAssertEqual(serve.network?.tls?.cert, "c.pem")
        XCTAssertEqual(serve.siteDescriptors.map(\.rank), [1, 2, 3])
        let join = try FederatedConfiguration.decode(
            yaml: yaml("network:\n  coordinator: '[::1]:9000'\n  site: site-2\n", ranks: true), source: "site.yaml")
        XCTAssertEqual(join.network?.coordinator, .init(host: "::1", port: 9000))
        XCTAssertEqual(join.network?.site, "site-2")
        func expect(_ text: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try FederatedConfiguration.decode(yaml: text, source: "fed.yaml"), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)", line: line)
            }
        }
        expect(yaml(""), "needs its ranks")
        expect(yaml("network:\n  listen: nowhere\n"), "network.listen must be host:port")
        expect(yaml("network:\n  listne: 0.0.0.0:1\n"), "network.listne is not a known key")
        expect(yaml("network:\n  tls: {ca: ca.pem}\n"), "network.tls must be {ca: CA.pem, cert: CERT.pem, key: KEY.pem}")
        expect(yaml("network:\n  chunk_bytes: 12\n"), "network.chunk_bytes must be an integer >= 1024")
        XCTAssertThrowsError(try NetworkSettings().sslContext(server: true)) {
            XCTAssertTrue("\($0)".contains("network.tls is required"), "\($0)")
        }
    }
}

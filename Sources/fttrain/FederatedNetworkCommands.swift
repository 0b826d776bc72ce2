import ArgumentParser
import FTDist
import FTDistTraining
import FTFederated
import FTTrain
import Foundation

/// `fttrain federated serve --config fed.yaml`: the coordinator of a federation over the network.
/// It listens on `network.listen`, admits the sites of `sites:` (mutual TLS with the federation's
/// CA, then each site signs a challenge with its registered key) and runs the same rounds as
/// `mpirun … fttrain federated`, writing the same output_dir.
struct FederatedServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Coordinate a federation over the network (sites connect with `fttrain federated join`).",
        discussion: """
            The config is `fttrain federated`'s (sites need no ranks) plus a network: section with listen: host:port, \
            tls: {ca, cert, key} and the limits (max_message_bytes, chunk_bytes, heartbeat_seconds, wait_for_sites, \
            rejoin_grace). Sites that are away when a round starts, or that miss its round_deadline, are left out \
            and named in rounds.jsonl; the federation goes on while min_sites report. Killed, it continues with \
            --resume after its last completed round, and the sites reconnect by themselves.
            """)

    @Option(help: "The federation's YAML config (with network.listen).")
    var config: String

    @Flag(help: "Continue from output_dir's last completed round.")
    var resume = false

    func run() throws {
        let federation = try FederatedConfiguration.load(path: config)
        guard let network = federation.network, network.listen != nil else {
            throw ValidationError("\(config): `network: {listen: host:port, tls: …}` is required to serve")
        }
        let transport = CoordinatorNetwork(
            settings: network, registry: try federation.registry(), sites: federation.siteDescriptors, log: federatedLog("coordinator"))
        try transport.start()
        defer { transport.shutdown() }
        let metrics = try FederatedCoordinatorRun(configuration: federation, channel: transport)
            .run(resume: resume, registry: try federation.registry(), log: federatedLog("coordinator"))
        for key in metrics.keys.sorted() { print("\(key): \(String(format: "%.4f", metrics[key]!))") }
        try FederatedMPICommand.writeLineage(federation, metrics: metrics, config: config)
    }
}

/// `fttrain federated join --config site.yaml`: one site, connecting out to the coordinator at
/// `network.coordinator` as `network.site` (or `--site`). Under `mpirun -np N` the site trains
/// data-parallel over its N ranks and only rank 0 talks to the coordinator.
struct FederatedJoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Take part in a federation over the network as one site.",
        discussion: """
            The config is the federation's (the site reads its own entry of sites: — train_file, private_key_file — \
            and the others' key_agreement_key) plus network: {coordinator: host:port, site: NAME, tls: {ca, cert, key}}. \
            The site reconnects with backoff whenever the connection drops, and stops when the coordinator says the \
            federation is over (or after network.give_up_after seconds without it).
            """)

    @Option(help: "The site's YAML config (with network.coordinator).")
    var config: String

    @Option(help: "This site's name (overrides network.site).")
    var site: String?

    func run() throws {
        let federation = try FederatedConfiguration.load(path: config)
        guard let network = federation.network, network.coordinator != nil else {
            throw ValidationError("\(config): `network: {coordinator: host:port, site: NAME, tls: …}` is required to join")
        }
        guard let name = site ?? network.site else { throw ValidationError("\(config): network.site (or --site) names this site") }
        guard let index = federation.sites.firstIndex(where: { $0.name == name }) else {
            throw ValidationError("\(config): no site \(name) in sites: (\(federation.sites.map(\.name).joined(separator: ", ")))")
        }
        if let tls = network.tls { try FederationTLS.checkCertificate(tls.cert, isFor: name) }
        guard MPICommunicator.isLaunchedByMPIRun else {
            return try participate(federation, index: index, network: network, world: SingleProcessWorld())
        }
        let world = try MPICommunicator.initialize()
        do {
            world.timeout = Double(federation.training.ddpTimeout)
            try participate(federation, index: index, network: network, world: CommunicatorWorld(communicator: world))
            try world.finalize()
        } catch {
            FileHandle.standardError.write("Error (site \(name), rank \(world.rank)): \(error)\n".data(using: .utf8)!)
            world.abort(errorCode: 1)
        }
    }

    private func participate(_ federation: FederatedConfiguration, index: Int, network: NetworkSettings, world: TrainingWorld) throws {
        let description = federation.sites[index]
        let trainer = try LoRASiteTrainer(
            configuration: federation.siteTraining(index), labels: federation.labels, trainFile: description.trainFile, world: world,
            freezeA: federation.settings.mode == .ffa, proximalMu: federation.settings.proximalMu)
        guard world.rank == 0 else { return try trainer.follow() }
        guard let keyFile = description.privateKeyFile else {
            throw FederationError(description: "site \(description.name) needs private_key_file to sign its updates")
        }
        let keys = try SiteKeys.load(path: keyFile, site: description.name)
        var peers: [Int: Curve25519KeyAgreementPublicKey] = [:]
        for (i, other) in federation.sites.enumerated() {
            if let key = other.keyAgreementKey { peers[i] = try FederatedKeys.keyAgreementPublicKey(key, site: other.name) }
        }
        let signer = UpdateSigner(site: description.name, privateKey: keys.signing, federationID: federation.settings.federationID)
        let transport = SiteNetwork(settings: network, signer: signer, log: federatedLog(description.name))
        try transport.start()
        defer { transport.shutdown() }
        try FederatedSite(
            channel: FaultInjectingTransport.wrap(transport, log: federatedLog(description.name)), index: index, settings: federation.settings,
            signer: signer,
            keyAgreement: keys.keyAgreement, peers: peers, trainer: trainer
        ).run()
        try trainer.releaseFollowers()
        federatedLog(description.name)("the federation is over")
    }
}

/// A log line on stderr with the UTC time and who speaks.
func federatedLog(_ who: String) -> @Sendable (String) -> Void {
    { message in
        let stamp = ISO8601DateFormatter().string(from: Date())
        FileHandle.standardError.write("[\(stamp)] \(who): \(message)\n".data(using: .utf8)!)
    }
}

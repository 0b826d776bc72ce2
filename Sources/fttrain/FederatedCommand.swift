import ArgumentParser
import FTDist
import FTDistTraining
import FTFederated
import FTTrain
import Foundation

/// `fttrain federated`: over MPI (`mpirun … fttrain federated --config fed.yaml`, the default
/// subcommand `mpi`) or over the network (`serve`, `join`).
struct FederatedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated",
        abstract: "Federated LoRA fine-tuning across sites that keep their data (under mpirun, or serve|join over the network).",
        subcommands: [FederatedMPICommand.self, FederatedServeCommand.self, FederatedJoinCommand.self],
        defaultSubcommand: FederatedMPICommand.self)
}

/// `fttrain federated [mpi] --config fed.yaml`: rank 0 coordinates, the other ranks are the sites of
/// the config's `sites:` list (each site its own communicator, so a site may train
/// data-parallel); only LoRA adapters travel between a site and the coordinator.
struct FederatedMPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "Federated LoRA fine-tuning across sites that keep their data (run under mpirun).",
        discussion: """
            mpirun -np N fttrain federated --config fed.yaml, with N = 1 + the ranks of all sites. The config holds \
            the sites' local training settings (TrainingConfiguration keys, peft: lora), a federation: section \
            (rounds, labels (classifiers), aggregation fedavg|ffa|svd, site_fraction, min_sites, round_deadline, \
            secure_aggregation, dp) and sites: (name, ranks, train_file, public_key, key_agreement_key, \
            private_key_file; fttrain federated-keygen makes the keys). Each site reads only its own train_file \
            and private key; the coordinator evaluates on validation_file (and test_file) and writes \
            rounds.jsonl, metrics.json and adapter/ into output_dir. An encoder trains a classifier on \
            federation.labels; a decoder (task: causal_lm, a .gguf or *ForCausalLM model_dir) trains its adapter \
            on SFT data and takes no labels.
            Over the network instead of MPI: `fttrain federated serve` (the coordinator) and `fttrain federated \
            join` (each site), see docs/federated-network.md.
            """)

    @Option(help: "The federation's YAML config.")
    var config: String

    @Flag(help: "Continue from output_dir's last completed round.")
    var resume = false

    func run() throws {
        let federation = try FederatedConfiguration.load(path: config)
        guard MPICommunicator.isLaunchedByMPIRun else {
            throw ValidationError("fttrain federated runs under mpirun with \(federation.worldSize) ranks (1 coordinator + the sites' ranks)")
        }
        let world = try MPICommunicator.initialize()
        do {
            world.timeout = Double(federation.training.ddpTimeout)
            guard world.size == federation.worldSize else {
                throw FederationError(
                    description: "\(config) needs \(federation.worldSize) ranks (1 coordinator + the sites' ranks), mpirun started \(world.size)")
            }
            let siteIndex = federation.sites.firstIndex { $0.ranks.contains(world.rank) }
            let siteCommunicator = try world.split(color: siteIndex.map { $0 + 1 } ?? 0, key: world.rank)
            let registry = try federation.registry()
            let channel = MessageChannel(communicator: world)
            if let siteIndex {
                try runSite(federation, index: siteIndex, world: world, site: siteCommunicator, channel: channel)
            } else {
                let metrics = try FederatedCoordinatorRun(configuration: federation, channel: channel)
                    .run(resume: resume, registry: registry) { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }
                for key in metrics.keys.sorted() { print("\(key): \(String(format: "%.4f", metrics[key]!))") }
                try Self.writeLineage(federation, metrics: metrics, config: config)
            }
            try world.finalize()
        } catch {
            FileHandle.standardError.write("Error (rank \(world.rank)): \(error)\n".data(using: .utf8)!)
            world.abort(errorCode: 1)
        }
    }

    /// The coordinator's `lineage.json` in output_dir and output_dir/adapter: the config file and
    /// the coordinator's evaluation files with their sums (the sites' training files stay with the
    /// sites: only their names are recorded), the base model's sum, the settings, the metrics.
    static func writeLineage(_ federation: FederatedConfiguration, metrics: [String: Double], config: String) throws {
        let training = federation.training
        guard let outputDir = training.outputDir, let modelDir = training.modelDir else { return }
        var settings = try JSONSerialization.jsonObject(with: JSONEncoder().encode(training)) as? [String: Any] ?? [:]
        settings["sites"] = federation.sites.map { ["name": $0.name, "ranks": $0.ranks, "train_file": $0.trainFile] as [String: Any] }
        settings["labels"] = federation.labels
        settings["federation"] = Dictionary(
            Mirror(reflecting: federation.settings).children.compactMap { child in child.label.map { ($0, String(describing: child.value)) } },
            uniquingKeysWith: { $1 })
        let inputs = [("config", config), ("validation", training.validationFile), ("test", training.testFile)]
            .compactMap { role, path in path.map { (role: role, path: $0) } }
        var record = LineageRecord(
            command: "federated", inputs: try inputs.map { try LineageDigest.input(role: $0.role, path: $0.path) },
            baseModel: try LineageDigest.model(at: modelDir), settings: settings, metrics: metrics)
        let output = URL(fileURLWithPath: outputDir, isDirectory: true)
        try record.write(into: [output, output.appendingPathComponent("adapter", isDirectory: true)])
    }

    private func runSite(
        _ federation: FederatedConfiguration, index: Int, world: MPICommunicator, site: MPICommunicator,
        channel: MessageChannel
    ) throws {
        let description = federation.sites[index]
        let trainer = try LoRASiteTrainer(
            configuration: federation.siteTraining(index), labels: federation.labels,
            trainFile: description.trainFile, world: CommunicatorWorld(communicator: site),
            freezeA: federation.settings.mode == .ffa, proximalMu: federation.settings.proximalMu)
        guard site.rank == 0 else { return try trainer.follow() }
        guard let keyFile = description.privateKeyFile else {
            throw FederationError(description: "site \(description.name) needs private_key_file to sign its updates")
        }
        let keys = try SiteKeys.load(path: keyFile, site: description.name)
        var peers: [Int: Curve25519KeyAgreementPublicKey] = [:]
        for (i, other) in federation.sites.enumerated() {
            if let key = other.keyAgreementKey { peers[i] = try FederatedKeys.keyAgreementPublicKey(key, site: other.name) }
        }
        let participant = FederatedSite(
            channel: channel, index: index, settings: federation.settings,
            signer: UpdateSigner(site: description.name, privateKey: keys.signing, federationID: federation.settings.federationID),
            keyAgreement: keys.keyAgreement, peers: peers, trainer: trainer)
        try participant.run()
        try trainer.releaseFollowers()
    }
}

import FTTrain
import Foundation
import Yams

/// `fttrain federated --config fed.yaml`: the training settings every site uses locally (the
/// `TrainingConfiguration` keys: model_dir, output_dir, LoRA, learning rate, …; the coordinator's
/// own `validation_file`), plus a `federation:` section for the rounds and a `sites:` list that
/// maps MPI ranks to sites:
///
/// ```yaml
/// federation:
///   rounds: 20
///   labels: [urgent, routine, self-care]   # sequence classification only (not for a causal LM)
///   aggregation: fedavg          # fedavg | ffa | svd
///   server_optimizer: fedadam    # none | fedadam | fedyogi | fedadagrad (server_learning_rate is η)
///   min_sites: 2
///   round_deadline: 900          # seconds
///   secure_aggregation: true
///   dp: {clip: 1.0, noise_multiplier: 0.8, delta: 1.0e-5}
/// sites:
///   - name: hospital-a
///     ranks: [1, 2]              # a site may train data-parallel on several ranks
///     train_file: /data/a/triage.csv
///     public_key: <base64 Ed25519>
///     key_agreement_key: <base64 X25519>
///     private_key_file: /secrets/hospital-a.key
///     lora_r: 4                  # optional, svd only: this site trains rank 4 (the global keeps lora_r)
/// ```
public struct FederatedConfiguration: Sendable {
    public struct Site: Sendable, Equatable {
        public var name: String
        public var ranks: [Int]
        public var trainFile: String
        /// The site's Ed25519 public key, base64: the registry updates are checked against.
        public var publicKey: String
        /// The site's X25519 public key, base64 (secure aggregation).
        public var keyAgreementKey: String?
        /// The site's private keys (`fttrain federated-keygen` writes them); read only by its ranks.
        public var privateKeyFile: String?
        /// The LoRA rank this site trains (nil: the federation's `lora_r`); other ranks need `aggregation: svd`.
        public var loraR: Int? = nil
    }

    public var training: TrainingConfiguration
    public var settings: FederationSettings
    public var sites: [Site]
    /// The classes, in id order: every site maps its labels onto these (`federation.labels`);
    /// empty for a causal LM (`task: causal_lm` or a decoder `model_dir`), which has none.
    public var labels: [String]
    /// `network:` (`fttrain federated serve|join`); nil for an MPI federation.
    public var network: NetworkSettings?

    public static func load(path: String) throws -> FederatedConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FederationError(
                description: "\(path): " + (FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "file not found"))
        }
        return try decode(yaml: text, source: path)
    }

    public static func decode(yaml: String, source: String) throws -> FederatedConfiguration {
        func fail(_ message: String) -> FederationError { FederationError(description: "\(source): \(message)") }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw fail("not valid YAML: \(error)") }
        guard let root, case .mapping(let mapping) = root else { throw fail("not a YAML mapping") }
        guard let federationNode = mapping["federation"] else { throw fail("no `federation:` section") }
        guard let sitesNode = mapping["sites"] else { throw fail("no `sites:` list") }
        // Everything else is the sites' local training configuration, checked by its own decoder.
        let rest = Node.Mapping(
            mapping.filter { !["federation", "sites", "network"].contains($0.key.string ?? "") }.map { ($0.key, $0.value) })
        let network = try mapping["network"].map { try NetworkSettings.decode($0, source: source) }
        let training = try TrainingConfiguration.decode(yaml: try Yams.serialize(node: .mapping(rest)), source: source)

        guard case .mapping(let federation) = federationNode else { throw fail("`federation` must be a mapping") }
        let known: Set<String> = [
            "rounds", "aggregation", "server_learning_rate", "site_fraction", "min_sites", "round_deadline",
            "seed", "federation_id", "secure_aggregation", "dp", "labels", "fedprox_mu",
            "server_optimizer", "server_beta1", "server_beta2", "server_tau",
        ]
        for key in federation.keys {
            if let k = key.string, !known.contains(k) { throw fail("unknown key federation.\(k) (known: \(known.sorted().joined(separator: ", ")))") }
        }
        // Integers as plain decimal text: Yams' own `Node.int` reads `1:2:3` as base 60 and traps
        // on overflow in its unchecked arithmetic (the fuzz tests found it in the training config).
        func decimal(_ node: Node) -> Int? { node.string.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        func value<T>(_ key: String, _ convert: (Node) -> T?, _ what: String) throws -> T? {
            guard let node = federation[key] else { return nil }
            guard let v = convert(node) else { throw fail("federation.\(key) must be \(what)") }
            return v
        }
        guard let rounds = try value("rounds", decimal, "an integer") else { throw fail("federation.rounds is required") }
        let modeName = try value("aggregation", { $0.string }, "fedavg, ffa or svd") ?? "fedavg"
        guard let mode = AggregationMode(rawValue: modeName) else { throw fail("federation.aggregation must be fedavg, ffa or svd, not \(modeName)") }
        var settings = FederationSettings(rounds: rounds, mode: mode)
        let optimizerName = try value("server_optimizer", { $0.string }, "none, fedadam, fedyogi or fedadagrad") ?? "none"
        guard let optimizer = ServerOptimizerKind(rawValue: optimizerName) else {
            throw fail("federation.server_optimizer must be none, fedadam, fedyogi or fedadagrad, not \(optimizerName)")
        }
        settings.serverOptimizer = ServerOptimizerSettings(
            kind: optimizer, beta1: try value("server_beta1", { $0.float }, "a number in [0, 1)"),
            beta2: try value("server_beta2", { $0.float }, "a number in [0, 1)") ?? 0.99,
            tau: try value("server_tau", { $0.float }, "a number > 0") ?? 1e-3)
        settings.serverLearningRate = try value("server_learning_rate", { $0.float }, "a number") ?? settings.serverOptimizer.defaultLearningRate
        settings.siteFraction = try value("site_fraction", { $0.float }, "a number") ?? 1
        settings.minimumSites = try value("min_sites", decimal, "an integer") ?? 1
        settings.roundDeadline = try value("round_deadline", { $0.float }, "a number of seconds") ?? 1800
        let seed = try value("seed", decimal, "an integer") ?? training.seed
        guard let unsignedSeed = UInt64(exactly: seed) else { throw fail("federation.seed (or seed) must be a non-negative integer, found \(seed)") }
        settings.seed = unsignedSeed
        settings.federationID = try value("federation_id", { $0.string }, "a string") ?? "fttrain"
        settings.secureAggregation = try value("secure_aggregation", { $0.bool }, "true or false") ?? false
        settings.proximalMu = try value("fedprox_mu", { $0.float }, "a number >= 0") ?? 0
        if let dp = federation["dp"] {
            guard case .mapping(let m) = dp, let clip = m["clip"]?.float, let sigma = m["noise_multiplier"]?.float else {
                throw fail("federation.dp must be {clip: C, noise_multiplier: σ, delta: δ}")
            }
            settings.privacy = (clip, sigma, m["delta"]?.float ?? 1e-5)
        }

        guard case .sequence(let list) = sitesNode else { throw fail("`sites` must be a list") }
        let sites = try list.enumerated().map { (i, node) -> Site in
            guard case .mapping(let m) = node else { throw fail("sites[\(i)] must be a mapping") }
            let siteKeys: Set<String> = ["name", "ranks", "train_file", "public_key", "key_agreement_key", "private_key_file", "lora_r"]
            for key in m.keys { if let k = key.string, !siteKeys.contains(k) { throw fail("unknown key sites[\(i)].\(k)") } }
            guard let name = m["name"]?.string, !name.isEmpty else { throw fail("sites[\(i)] needs a name") }
            guard let trainFile = m["train_file"]?.string else { throw fail("site \(name) needs a train_file") }
            guard let publicKey = m["public_key"]?.string else {
                throw fail("site \(name) needs its public_key (fttrain federated-keygen prints it)")
            }
            let ranks: [Int]
            switch m["ranks"] {
            case .sequence(let items)?: ranks = items.compactMap(decimal)
            case let node?: ranks = decimal(node).map { [$0] } ?? []
            case nil: ranks = []
            }
            guard !ranks.isEmpty || network != nil else { throw fail("site \(name) needs its ranks (a list of MPI ranks)") }
            var loraR: Int?
            if let node = m["lora_r"] {
                guard let r = decimal(node), r >= 1 else { throw fail("sites[\(i)].lora_r must be an integer >= 1") }
                loraR = r
            }
            return Site(
                name: name, ranks: ranks, trainFile: trainFile, publicKey: publicKey,
                keyAgreementKey: m["key_agreement_key"]?.string, privateKeyFile: m["private_key_file"]?.string, loraR: loraR)
        }
        // A causal LM's answers come from its data (chat rows, completions, or labelled rows through
        // prompt_template/completion_template): it has no classes, so labels would be ignored.
        var labels: [String] = []
        if FederatedTask.isCausalLM(training) {
            if federation["labels"] != nil {
                throw fail(
                    "federation.labels is for sequence classification; \(training.modelDir ?? "model_dir") trains a causal LM (task causal_lm), whose answers come from the data: remove federation.labels"
                )
            }
        } else {
            guard case .sequence(let labelNodes)? = federation["labels"], !labelNodes.isEmpty else {
                throw fail("federation.labels is required: the classes in id order, e.g. [fresh, rotten, plot]")
            }
            labels = labelNodes.compactMap(\.string)
            guard labels.count == labelNodes.count, Set(labels).count == labels.count, labels.count >= 2 else {
                throw fail("federation.labels must be two or more distinct names")
            }
        }
        var configuration = FederatedConfiguration(training: training, settings: settings, sites: sites, labels: labels)
        configuration.network = network
        try configuration.validate(source: source)
        return configuration
    }

    /// Checks what can be checked before the job starts (the world size comes at launch).
    public func validate(source: String) throws {
        func fail(_ message: String) -> FederationError { FederationError(description: "\(source): \(message)") }
        guard settings.rounds >= 1 else { throw fail("federation.rounds must be at least 1") }
        guard !sites.isEmpty else { throw fail("`sites` is empty") }
        guard settings.siteFraction > 0 && settings.siteFraction <= 1 else { throw fail("federation.site_fraction must be in (0, 1]") }
        guard settings.minimumSites >= 1 && settings.minimumSites <= sites.count else {
            throw fail("federation.min_sites must be between 1 and the \(sites.count) sites")
        }
        guard settings.roundDeadline > 0 else { throw fail("federation.round_deadline must be positive") }
        guard settings.serverLearningRate > 0 else { throw fail("federation.server_learning_rate must be positive") }
        guard settings.proximalMu >= 0 else { throw fail("federation.fedprox_mu must be >= 0") }
        let optimizer = settings.serverOptimizer
        guard (0..<1).contains(optimizer.beta1), (0..<1).contains(optimizer.beta2), optimizer.tau > 0 else {
            throw fail("federation.server_beta1 and server_beta2 must be in [0, 1) and server_tau > 0")
        }
        if let other = sites.first(where: { ($0.loraR ?? training.loraR) != training.loraR }), settings.mode != .svd {
            throw fail(
                "site \(other.name) has lora_r \(other.loraR!), the federation \(training.loraR): only aggregation: svd mixes ranks (the mean of B·A re-factorised)"
            )
        }
        if let privacy = settings.privacy {
            guard privacy.clip > 0, privacy.noiseMultiplier >= 0, privacy.delta > 0 && privacy.delta < 1 else {
                throw fail("federation.dp needs clip > 0, noise_multiplier >= 0 and 0 < delta < 1")
            }
        }
        let names = sites.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) { throw fail("site name \(repeated) appears twice") }
        let ranks = sites.flatMap(\.ranks).sorted()
        guard (network != nil && ranks.isEmpty) || ranks == Array(1...max(ranks.count, 1)) else {
            throw fail("site ranks must be 1, 2, … each exactly once (rank 0 is the coordinator); found \(ranks)")
        }
        if settings.secureAggregation, let missing = sites.first(where: { $0.keyAgreementKey == nil }) {
            throw fail("secure_aggregation needs every site's key_agreement_key; \(missing.name) has none")
        }
        _ = try registry()
    }

    /// The sites' public keys, bound to the federation id.
    public func registry() throws -> SiteRegistry {
        try SiteRegistry(
            publicKeys: Dictionary(uniqueKeysWithValues: sites.map { ($0.name, $0.publicKey) }), federationID: settings.federationID)
    }

    /// The local training configuration of site `index`: the federation's, at the site's `lora_r`,
    /// with `lora_alpha` scaled so the site's LoRA scaling (α/r, or α/√r with rsLoRA) is the
    /// federation's — the aggregation averages the unscaled products B·A, which is right only when
    /// every site scales them alike.
    public func siteTraining(_ index: Int) -> TrainingConfiguration {
        var c = training
        guard let r = sites[index].loraR, r != c.loraR else { return c }
        let ratio = Double(r) / Double(c.loraR)
        c.loraAlpha *= c.useRSLoRA ? ratio.squareRoot() : ratio
        c.loraR = r
        return c
    }

    /// The ranks a job must have: the coordinator and every site rank.
    public var worldSize: Int { 1 + sites.reduce(0) { $0 + $1.ranks.count } }
}

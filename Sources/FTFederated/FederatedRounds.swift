import Crypto
import FTCore
import FTDist
import Foundation

/// How a federation runs its rounds (the coordinator's and the sites' shared settings).
public struct FederationSettings: Sendable {
    public var rounds: Int
    public var mode: AggregationMode
    public var serverLearningRate = 1.0
    /// FedAdam, FedYogi or FedAdagrad on the aggregated update (η is `serverLearningRate`).
    public var serverOptimizer = ServerOptimizerSettings()
    /// Share of the sites sampled each round, and the fewest sites a round may aggregate.
    public var siteFraction = 1.0
    public var minimumSites = 1
    /// Seconds the coordinator waits for updates after sending the global adapter.
    public var roundDeadline: TimeInterval = 600
    public var seed: UInt64 = 42
    /// Binds masks and signatures to this federation.
    public var federationID = "fttrain"
    /// Per-site clipping norm and noise multiplier; nil turns differential privacy off.
    public var privacy: (clip: Double, noiseMultiplier: Double, delta: Double)?
    public var secureAggregation = false
    /// FedProx's μ for the sites' local training (0: plain FedAvg local steps).
    public var proximalMu = 0.0

    public init(rounds: Int, mode: AggregationMode) {
        self.rounds = rounds
        self.mode = mode
    }
}

/// A site as the coordinator knows it: its name, the rank of its leader, and its public keys.
public struct SiteDescriptor: Sendable {
    public let name: String
    public let rank: Int
    /// X25519 public key for secure aggregation's pairwise masks (raw 32 bytes, base64).
    public let keyAgreementKey: String?

    public init(name: String, rank: Int, keyAgreementKey: String? = nil) {
        self.name = name
        self.rank = rank
        self.keyAgreementKey = keyAgreementKey
    }
}

/// What a site does in a round: trains from the global adapter on its own data.
public protocol SiteTrainer: AnyObject {
    /// The site's adapter after local training from `global` (its `examples` is FedAvg's weight).
    func train(from global: AdapterUpdate, round: Int) throws -> AdapterUpdate
}

/// One line of `rounds.jsonl`: who reported, what travelled, what was decided.
public struct RoundRecord: Sendable {
    public var round: Int
    public var sampled: [String]
    public var reported: [String]
    /// Sites that did not report, with why (deadline, failure, bad signature).
    public var missing: [String: String]
    public var bytesSent: [String: Int]
    public var bytesReceived: [String: Int]
    public var mode: String
    public var epsilon: Double?

    public var json: [String: Any] {
        var record: [String: Any] = [
            "round": round, "sampled": sampled, "reported": reported, "missing": missing,
            "bytes_sent": bytesSent, "bytes_received": bytesReceived, "aggregation": mode,
        ]
        if let epsilon { record["epsilon"] = epsilon }
        return record
    }

    /// The coordinator's log line for the round (after `round R:`): who reported, the bytes each
    /// sampled site sent/received, and the missing sites with why — what the report draws.
    public var summary: String {
        let bytes = sampled.map { "\($0) \(bytesSent[$0, default: 0])/\(bytesReceived[$0, default: 0])" }.joined(separator: ", ")
        return "\(reported.count) of \(sampled.count) sites reported (\(reported.joined(separator: ", ")))"
            + "; bytes sent/received: \(bytes)"
            + (missing.isEmpty ? "" : "; missing: " + missing.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: ", "))
    }
}

public struct FederationError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Message tags: the coordinator's instructions (train round r, sit it out, stop) in order on one
/// tag; the replies on tags of their round, so a late message of one round never matches another.
enum RoundTag {
    static let control = 999
    static func global(_ round: Int) -> Int { 1000 + (round % 7000) * 4 }
    static func update(_ round: Int) -> Int { global(round) + 1 }
    static func dropped(_ round: Int) -> Int { global(round) + 2 }
    static func correction(_ round: Int) -> Int { global(round) + 3 }
}

/// Signed envelopes: a 64-byte Ed25519 signature, then the payload.
enum Envelope {
    static func seal(_ payload: [UInt8], signer: UpdateSigner, round: Int) throws -> [UInt8] {
        [UInt8](try signer.sign(Data(payload), round: round)) + payload
    }

    static func open(_ message: [UInt8], site: String, round: Int, registry: SiteRegistry) throws -> [UInt8] {
        guard message.count >= 64 else { throw SiteRegistry.Rejection.badSignature(site: site, round: round) }
        let payload = Array(message[64...])
        try registry.verify(Data(payload), signature: Data(message[..<64]), site: site, round: round)
        return payload
    }
}

/// Which sites take part in a round: `max(minimum, round(fraction · sites))` of them, drawn
/// without replacement from a generator seeded by (seed, round), so a resumed federation samples
/// the same sites.
public enum SiteSampler {
    public static func sample(sites: Int, fraction: Double, minimum: Int, seed: UInt64, round: Int) -> [Int] {
        let wanted = min(sites, max(minimum, Int((fraction * Double(sites)).rounded())))
        var order = Array(0..<sites)
        var rng = SeededRNG(seed: seed, stream: RandomStreams.federatedRound(round))
        SitePartition.shuffle(&order, &rng)
        return order.prefix(wanted).sorted()
    }
}

import Crypto
import FTCore
import FTDist
import Foundation

/// A site's side of the rounds (the site leader's rank): receive the global adapter, train on
/// the site's own data, and send back a signed update — the adapter itself, or with privacy or
/// secure aggregation the update vector, clipped and noised and/or masked. Raw data and base
/// weights never leave: only adapter tensors and counts are ever encoded.
public final class FederatedSite {
    public let channel: any MessageTransport
    /// This site's index in the federation's site list (its place in masks and sampling).
    public let index: Int
    public let settings: FederationSettings
    private let coordinator: Int
    private let signer: UpdateSigner
    private let keyAgreement: Curve25519.KeyAgreement.PrivateKey?
    /// Every site's key-agreement public key by site index (secure aggregation).
    private let peers: [Int: Curve25519.KeyAgreement.PublicKey]
    private let trainer: SiteTrainer
    private var noise: SeededRNG
    /// Length of this round's masked vector (the correction has the same layout).
    private var maskedCount = 0

    public init(
        channel: any MessageTransport, index: Int, settings: FederationSettings, coordinator: Int = 0,
        signer: UpdateSigner, keyAgreement: Curve25519.KeyAgreement.PrivateKey? = nil,
        peers: [Int: Curve25519.KeyAgreement.PublicKey] = [:], trainer: SiteTrainer,
        noiseSeed: UInt64 = UInt64.random(in: .min ... .max)
    ) {
        self.channel = channel
        self.index = index
        self.settings = settings
        self.coordinator = coordinator
        self.signer = signer
        self.keyAgreement = keyAgreement
        self.peers = peers
        self.trainer = trainer
        noise = SeededRNG(seed: noiseSeed, stream: RandomStreams.base)
    }

    /// Takes part in the rounds the coordinator announces, until it says stop (so a resumed
    /// federation needs no round count here).
    public func run() throws {
        while true {
            let message = try channel.receiveWaiting(from: coordinator, tag: RoundTag.control)
            let (global, metadata) = try AdapterCodec.decode(message, source: "the coordinator's message")
            switch metadata["kind"] {
            case "stop": return
            case "train": break
            default: continue  // this round is not ours
            }
            guard let round = metadata["round"].flatMap(Int.init) else {
                throw FederationError(description: "the coordinator's message names no round")
            }
            let participants = (metadata["participants"] ?? "").split(separator: ",").compactMap { Int($0) }
            let payload: [UInt8]
            do {
                payload = try update(from: global, round: round, participants: participants)
            } catch {
                payload = try AdapterCodec.encode(
                    AdapterUpdate(modules: [:], examples: 0),
                    metadata: ["kind": "failed", "reason": "\(error)"])
            }
            try channel.send(try Envelope.seal(payload, signer: signer, round: round), to: coordinator, tag: RoundTag.update(round))
            if settings.secureAggregation { try correctMasks(round: round, participants: participants) }
        }
    }

    private func update(from global: AdapterUpdate, round: Int, participants: [Int]) throws -> [UInt8] {
        let local = try trainer.train(from: global, round: round)
        guard settings.secureAggregation || settings.privacy != nil else {
            return try AdapterCodec.encode(local, metadata: ["kind": "update"])
        }
        let vector = UpdateVector(mode: settings.mode, global: global)
        var delta = try vector.delta(local)
        var weight = Float(local.examples)
        if let privacy = settings.privacy {
            // DP-FedAvg: every site counts once, its change bounded by the clip, plus its share of the noise.
            weight = 1
            GaussianMechanism.clip(&delta, maxNorm: privacy.clip)
            GaussianMechanism.addNoise(
                &delta,
                standardDeviation: GaussianMechanism.perSiteStandardDeviation(
                    noiseMultiplier: privacy.noiseMultiplier, clip: privacy.clip, sites: max(participants.count, 1)), rng: &noise)
        }
        var writer = SafeTensorsWriter(metadata: ["kind": "update", "examples": String(local.examples), "format": "pt"])
        if settings.secureAggregation {
            let scaled = delta.map { $0 * weight } + [weight]
            let masked = try SecureAggregation.masked(scaled, mask: mask(count: scaled.count, round: round, among: participants))
            try writer.add("masked", shape: [masked.count], int64s: masked.map { Int64(bitPattern: $0) })
        } else {
            try writer.add("update", shape: [delta.count], floats: delta)
        }
        return writer.serialized()
    }

    /// Secure aggregation's second phase: learn who dropped out and, if anyone did, send the
    /// sum of this site's masks with them so the coordinator can remove them.
    private func correctMasks(round: Int, participants: [Int]) throws {
        let notice = try channel.receiveWaiting(from: coordinator, tag: RoundTag.dropped(round))
        let metadata = try SafeTensorsFile(bytes: notice, name: "dropped-site notice").metadata
        let dropped = (metadata["dropped"] ?? "").split(separator: ",").compactMap { Int($0) }
        guard !dropped.isEmpty, !dropped.contains(index), maskedCount > 0 else { return }
        let count = maskedCount
        // The masks with dropped peers alone: this site's mask restricted to them.
        let correction = try SecureAggregation.mask(
            count: count, site: index, privateKey: keyAgreement!,
            peers: peers.filter { dropped.contains($0.key) },
            context: maskContext(round))
        var writer = SafeTensorsWriter(metadata: ["kind": "correction"])
        try writer.add("correction", shape: [count], int64s: correction.map { Int64(bitPattern: $0) })
        try channel.send(
            try Envelope.seal(writer.serialized(), signer: signer, round: round), to: coordinator,
            tag: RoundTag.correction(round))
    }

    private func mask(count: Int, round: Int, among participants: [Int]) throws -> [UInt64] {
        guard let keyAgreement else { throw FederationError(description: "secure aggregation needs this site's key-agreement key") }
        maskedCount = count
        return try SecureAggregation.mask(
            count: count, site: index, privateKey: keyAgreement,
            peers: peers.filter { participants.contains($0.key) }, context: maskContext(round))
    }

    private func maskContext(_ round: Int) -> String { "\(settings.federationID) round \(round)" }
}

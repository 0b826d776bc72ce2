import Crypto
import FTCore
import FTDist
@testable import FTFederated
import Foundation
import XCTest

/// Whole rounds over an in-process world: rank 0 coordinates, ranks 1… are sites whose
/// "training" adds a fixed, site-specific change to the global adapter — so every round's
/// result has a closed form.
final class FederatedRoundsTests: XCTestCase {
    /// A site that moves every value by `shift` (and B's by 2·shift), with `examples` examples;
    /// optionally slow, or failing, in chosen rounds.
    final class ShiftTrainer: SiteTrainer, @unchecked Sendable {
        let shift: Float, examples: Int
        var sleepInRound: [Int: TimeInterval] = [:]
        var failInRound: Set<Int> = []
        var freezeA = false
        /// Called as each round's training starts (the network tests end a site's connection here).
        var onRound: (Int) -> Void = { _ in }

        init(shift: Float, examples: Int) {
            self.shift = shift
            self.examples = examples
        }

        func train(from global: AdapterUpdate, round: Int) throws -> AdapterUpdate {
            onRound(round)
            if let pause = sleepInRound[round] { Thread.sleep(forTimeInterval: pause) }
            if failInRound.contains(round) { throw FederationError(description: "out of memory at the site") }
            var local = global
            local.examples = examples
            for (name, f) in global.modules {
                local.modules[name] = LoRAFactors(
                    a: freezeA ? f.a : f.a.map { $0 + shift }, b: f.b.map { $0 + 2 * shift },
                    rank: f.rank, inFeatures: f.inFeatures, outFeatures: f.outFeatures)
            }
            for (name, values) in global.dense { local.dense[name] = values.map { $0 - shift } }
            return local
        }
    }

    private let global = AdapterUpdate(
        modules: [
            "base_model.model.bert.encoder.layer.0.attention.self.query":
                LoRAFactors(a: (0..<8).map { Float($0) * 0.1 }, b: (0..<6).map { Float($0) * -0.05 }, rank: 2, inFeatures: 4, outFeatures: 3)
        ],
        dense: ["base_model.model.classifier.modules_to_save.default.weight": [0.5, -0.5, 1]], examples: 0)

    private struct Federation: @unchecked Sendable {
        var settings: FederationSettings
        let trainers: [ShiftTrainer]
        let signingKeys = (0..<3).map { _ in UpdateSigner.generateIdentity() }
        let agreementKeys = (0..<3).map { _ in Curve25519.KeyAgreement.PrivateKey() }
        var forgeSite: Int?

        var sites: [SiteDescriptor] { (0..<trainers.count).map { SiteDescriptor(name: "site-\($0 + 1)", rank: $0 + 1) } }
        var registry: SiteRegistry {
            try! SiteRegistry(
                publicKeys: Dictionary(uniqueKeysWithValues: (0..<trainers.count).map { ("site-\($0 + 1)", signingKeys[$0].publicKeyBase64) }))
        }
    }

    private func makeFederation(mode: AggregationMode = .fedavg, rounds: Int = 2) -> Federation {
        var settings = FederationSettings(rounds: rounds, mode: mode)
        settings.roundDeadline = 5
        settings.minimumSites = 2
        return Federation(
            settings: settings,
            trainers: [
                ShiftTrainer(shift: 1, examples: 10), ShiftTrainer(shift: 2, examples: 30),
                ShiftTrainer(shift: 4, examples: 60),
            ])
    }

    /// Runs the federation; returns the coordinator's final adapter, its round records and the bytes each site sent.
    private func run(_ federation: Federation) throws -> (AdapterUpdate, [RoundRecord], [Int]) {
        let initial = global
        let results = try InProcessCommunicator.run(size: 1 + federation.trainers.count, receiveTimeout: 30) {
            communicator -> (AdapterUpdate?, [RoundRecord], Int) in
            let channel = MessageChannel(communicator: communicator)
            if communicator.rank == 0 {
                let coordinator = FederatedCoordinator(
                    channel: channel, sites: federation.sites, settings: federation.settings,
                    registry: federation.registry)
                var records: [RoundRecord] = []
                let final = try coordinator.run(initial: initial) { record, _ in records.append(record) }
                return (final, records, 0)
            }
            let index = communicator.rank - 1
            let key = federation.forgeSite == index ? Curve25519.Signing.PrivateKey() : federation.signingKeys[index].privateKey
            let peers = Dictionary(uniqueKeysWithValues: federation.agreementKeys.enumerated().map { ($0.offset, $0.element.publicKey) })
            let site = FederatedSite(
                channel: channel, index: index, settings: federation.settings,
                signer: UpdateSigner(site: "site-\(index + 1)", privateKey: key),
                keyAgreement: federation.agreementKeys[index], peers: peers,
                trainer: federation.trainers[index], noiseSeed: 7 + UInt64(index))
            try site.run()
            return (nil, [], channel.bytesSent[0, default: 0])
        }
        return (results[0].0!, results[0].1, results.dropFirst().map(\.2))
    }

    /// The closed form of a round with the given sites: FedAvg of the shifted adapters.
    private func expectedFedAvg(_ start: AdapterUpdate, _ trainers: [ShiftTrainer]) throws -> AdapterUpdate {
        let locals = try trainers.map { try $0.train(from: start, round: -1) }
        return try LoRAAggregation.aggregate(locals, global: start, mode: .fedavg)
    }

    private func assertClose(_ x: AdapterUpdate, _ y: AdapterUpdate, _ tolerance: Float, line: UInt = #line) {
        for (name, f) in y.modules {
            guard let g = x.modules[name] else { return XCTFail("no \(name)", line: line) }
            XCTAssertLessThanOrEqual(zip(f.a + f.b, g.a + g.b).map { abs($0 - $1) }.max() ?? 0, tolerance, name, line: line)
        }
        for (name, v) in y.dense {
            XCTAssertLessThanOrEqual(zip(v, x.dense[name] ?? []).map { abs($0 - $1) }.max() ?? 0, tolerance, name, line: line)
        }
    }

    func testRoundsEqualFedAvgAndOnlyTheAdapterTravels() throws {
        let federation = makeFederation()
        let (final, records, bytes) = try run(federation)
        let expected = try expectedFedAvg(try expectedFedAvg(global, federation.trainers), federation.trainers)
        assertClose(final, expected, 1e-5)
        XCTAssertEqual(records.map(\.reported), [["site-1", "site-2", "site-3"], ["site-1", "site-2", "site-3"]])
        // What a site sends is its signed adapter and nothing else: 64 signature bytes + the
        // safetensors of its LoRA and head tensors, in whole floats, behind an 8-byte header.
        for (index, trainer) in federation.trainers.enumerated() {
            var sent = 0
            var start = global
            for _ in 0..<2 {
                let local = try trainer.train(from: start, round: 0)
                let payload = try AdapterCodec.encode(local, metadata: ["kind": "update"])
                sent += 8 + (64 + payload.count + 3) / 4 * 4
                let names = try SafeTensorsFile(bytes: payload, name: "x").tensors.map(\.name).sorted()
                XCTAssertEqual(
                    names,
                    [
                        "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight",
                        "base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight",
                        "base_model.model.classifier.modules_to_save.default.weight",
                    ])
                start = try expectedFedAvg(start, federation.trainers)
            }
            XCTAssertEqual(bytes[index], sent, "site \(index + 1)")
            XCTAssertEqual(records.map { $0.bytesSent["site-\(index + 1)"]! }.reduce(0, +), sent)
        }
    }

    func testASlowOrFailingSiteIsLeftOutAndTooFewStopsTheFederation() throws {
        var federation = makeFederation()
        federation.trainers[2].sleepInRound = [0: 1.5]  // misses round 0's 1 s deadline, in time for round 1
        federation.trainers[1].failInRound = [1]  // reports a failure in round 1
        federation.settings.roundDeadline = 1
        let (final, records, _) = try run(federation)
        XCTAssertEqual(records[0].reported, ["site-1", "site-2"])
        XCTAssertTrue(records[0].missing["site-3"]?.contains("deadline") ?? false, "\(records[0].missing)")
        XCTAssertEqual(records[1].reported, ["site-1", "site-3"])
        XCTAssertTrue(records[1].missing["site-2"]?.contains("out of memory") ?? false, "\(records[1].missing)")
        let afterFirst = try expectedFedAvg(global, [federation.trainers[0], federation.trainers[1]])
        assertClose(final, try expectedFedAvg(afterFirst, [federation.trainers[0], federation.trainers[2]]), 1e-5)

        let starved = makeFederation(rounds: 1)
        starved.trainers[0].failInRound = [0]
        starved.trainers[1].failInRound = [0]
        XCTAssertThrowsError(try run(starved)) { error in
            XCTAssertTrue("\(error)".contains("1 of 3 sampled sites") && "\(error)".contains("min_sites 2"), "\(error)")
        }
    }

    func testAForgedUpdateIsRejected() throws {
        var federation = makeFederation(rounds: 1)
        federation.forgeSite = 1
        let (final, records, _) = try run(federation)
        XCTAssertEqual(records[0].reported, ["site-1", "site-3"])
        XCTAssertTrue(records[0].missing["site-2"]?.contains("invalid signature") ?? false, "\(records[0].missing)")
        assertClose(final, try expectedFedAvg(global, [federation.trainers[0], federation.trainers[2]]), 1e-5)
    }

    /// Secure aggregation reaches the plain result (to fixed-point rounding), also when a site drops out.
    func testSecureAggregationEqualsPlainEvenWithADroppedSite() throws {
        var federation = makeFederation()
        federation.settings.secureAggregation = true
        federation.trainers[0].failInRound = [1]
        let (final, records, _) = try run(federation)
        XCTAssertEqual(records[1].reported, ["site-2", "site-3"])
        let afterFirst = try expectedFedAvg(global, federation.trainers)
        assertClose(final, try expectedFedAvg(afterFirst, [federation.trainers[1], federation.trainers[2]]), 1e-5)
    }

    /// FFA-LoRA over the wire: A stays, B is the exact weighted mean.
    func testFFALoRARounds() throws {
        var federation = makeFederation(mode: .ffa, rounds: 1)
        for trainer in federation.trainers { trainer.freezeA = true }
        federation.settings.serverLearningRate = 1
        let (final, _, _) = try run(federation)
        let locals = try federation.trainers.map { try $0.train(from: global, round: 0) }
        assertClose(final, try LoRAAggregation.aggregate(locals, global: global, mode: .ffa), 1e-5)
    }

    /// With privacy: unweighted mean of clipped changes plus noise; σ = 0 makes it exact, and the
    /// accountant's ε is reported every round.
    func testPrivacyClipsAveragesAndAccounts() throws {
        var federation = makeFederation(rounds: 1)
        federation.settings.privacy = (clip: 1e6, noiseMultiplier: 0, delta: 1e-5)
        let (final, records, _) = try run(federation)
        let locals = try federation.trainers.map { trainer -> AdapterUpdate in
            var local = try trainer.train(from: global, round: 0)
            local.examples = 1  // every site counts once
            return local
        }
        assertClose(final, try LoRAAggregation.aggregate(locals, global: global, mode: .fedavg), 1e-5)
        XCTAssertEqual(records[0].epsilon, .infinity, "no noise, no privacy")

        var noisy = makeFederation(rounds: 2)
        noisy.settings.privacy = (clip: 0.5, noiseMultiplier: 1.1, delta: 1e-5)
        let (_, noisyRecords, _) = try run(noisy)
        var accountant = PrivacyAccountant()
        accountant.record(samplingRate: 1, noiseMultiplier: 1.1, rounds: 2)
        XCTAssertEqual(noisyRecords[1].epsilon!, accountant.epsilon(delta: 1e-5).epsilon, accuracy: 1e-9)
    }

    func testSamplingIsSeededAndHonoursTheMinimum() {
        let a = SiteSampler.sample(sites: 10, fraction: 0.3, minimum: 2, seed: 1, round: 4)
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(a, SiteSampler.sample(sites: 10, fraction: 0.3, minimum: 2, seed: 1, round: 4))
        XCTAssertNotEqual(a, SiteSampler.sample(sites: 10, fraction: 0.3, minimum: 2, seed: 1, round: 5))
        XCTAssertEqual(SiteSampler.sample(sites: 10, fraction: 0.05, minimum: 2, seed: 1, round: 0).count, 2)
        XCTAssertEqual(SiteSampler.sample(sites: 4, fraction: 1, minimum: 1, seed: 9, round: 0), [0, 1, 2, 3])
    }
}

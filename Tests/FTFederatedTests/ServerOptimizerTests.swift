import Crypto
import FTCore
import FTDist
@testable import FTFederated
import Foundation
import XCTest

/// The coordinator's server optimisers against Flower's own strategies: the same fixed site
/// results through `FedAdam`, `FedYogi` and `FedAdagrad.aggregate_fit` for 3 rounds
/// (`scripts/reference/make_server_optimizer_reference.py`, flwr 1.42) and through
/// `FederatedCoordinator` over an in-process world give the same global adapter within 1e-6 —
/// on the factors in the fedavg mode, on the products B·A in the svd mode.
final class ServerOptimizerTests: XCTestCase {
    struct Reference: Decodable {
        struct Layout: Decodable {
            let initial: [String: [Double]]
            /// [round][site] → tensor → values.
            let sites: [[[String: [Double]]]]
            /// optimiser → [round] → Flower's parameters, flattened.
            let global: [String: [[[Double]]]]
        }
        let flwr_version: String
        let eta: Double, beta1: Double, beta2: Double, tau: Double
        let examples: [Int]
        let layouts: [String: Layout]
    }

    private func reference() throws -> Reference {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "server_optimizer_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// The fixture's tensors as an adapter: module "m" (A, B; rank from A's length) and, in the
    /// fedavg layout, the dense "head".
    private func adapter(_ tensors: [String: [Double]], layout: String, examples: Int = 0) -> AdapterUpdate {
        let (rank, inFeatures, outFeatures) = layout == "svd" ? (3, 3, 4) : (2, 3, 4)
        let factors = LoRAFactors(
            a: tensors["a"]!.map { Float($0) }, b: tensors["b"]!.map { Float($0) }, rank: rank, inFeatures: inFeatures,
            outFeatures: outFeatures)
        return AdapterUpdate(modules: ["m": factors], dense: tensors["head"].map { ["head": $0.map { Float($0) }] } ?? [:], examples: examples)
    }

    /// A site whose "training" returns the fixture's adapter for the round.
    final class FixtureTrainer: SiteTrainer, @unchecked Sendable {
        let results: [AdapterUpdate]
        init(_ results: [AdapterUpdate]) { self.results = results }
        func train(from global: AdapterUpdate, round: Int) throws -> AdapterUpdate { results[round] }
    }

    final class Keys: @unchecked Sendable {
        let identities: [(privateKey: Curve25519.Signing.PrivateKey, publicKeyBase64: String)]
        init(count: Int) { identities = (0..<count).map { _ in UpdateSigner.generateIdentity() } }
    }

    /// Runs the coordinator and 3 fixture sites; the global adapter after each round.
    private func federate(_ layout: Reference.Layout, name: String, settings: FederationSettings, examples: [Int]) throws -> [AdapterUpdate] {
        let trainers = (0..<examples.count).map { site in
            FixtureTrainer((0..<layout.sites.count).map { adapter(layout.sites[$0][site], layout: name, examples: examples[site]) })
        }
        let keys = Keys(count: trainers.count)
        let initial = adapter(layout.initial, layout: name)
        let results = try InProcessCommunicator.run(size: 1 + trainers.count, receiveTimeout: 30) { communicator -> [AdapterUpdate] in
            let channel = MessageChannel(communicator: communicator)
            if communicator.rank == 0 {
                let registry = try SiteRegistry(
                    publicKeys: Dictionary(
                        uniqueKeysWithValues: keys.identities.enumerated().map { ("site-\($0.offset + 1)", $0.element.publicKeyBase64) }))
                let coordinator = FederatedCoordinator(
                    channel: channel, sites: (1...trainers.count).map { SiteDescriptor(name: "site-\($0)", rank: $0) },
                    settings: settings, registry: registry)
                var rounds: [AdapterUpdate] = []
                _ = try coordinator.run(initial: initial) { _, global in rounds.append(global) }
                return rounds
            }
            let index = communicator.rank - 1
            try FederatedSite(
                channel: channel, index: index, settings: settings,
                signer: UpdateSigner(site: "site-\(index + 1)", privateKey: keys.identities[index].privateKey), trainer: trainers[index]
            ).run()
            return []
        }
        return results[0]
    }

    func testCoordinatorMatchesFlowersStrategies() throws {
        let reference = try reference()
        for (name, layout) in reference.layouts.sorted(by: { $0.key < $1.key }) {
            for kind in [ServerOptimizerKind.fedadam, .fedyogi, .fedadagrad] {
                var settings = FederationSettings(rounds: layout.sites.count, mode: name == "svd" ? .svd : .fedavg)
                settings.minimumSites = reference.examples.count
                settings.roundDeadline = 30
                settings.serverLearningRate = reference.eta
                settings.serverOptimizer = ServerOptimizerSettings(
                    kind: kind, beta1: kind == .fedadagrad ? nil : reference.beta1, beta2: reference.beta2, tau: reference.tau)
                let rounds = try federate(layout, name: name, settings: settings, examples: reference.examples)
                let flower = try XCTUnwrap(layout.global[kind.rawValue])
                XCTAssertEqual(rounds.count, flower.count)
                for (round, (ours, theirs)) in zip(rounds, flower).enumerated() {
                    let m = try XCTUnwrap(ours.modules["m"])
                    let mine: [[Double]] =
                        name == "svd"
                        ? [m.product] : [m.a.map(Double.init), m.b.map(Double.init), ours.dense["head"]!.map(Double.init)]
                    XCTAssertEqual(mine.map(\.count), theirs.map(\.count), "\(name) \(kind) round \(round)")
                    let worst = zip(mine.joined(), theirs.joined()).map { abs($0 - $1) }.max() ?? .infinity
                    XCTAssertLessThanOrEqual(worst, 1e-6, "\(name) \(kind) round \(round + 1) against flwr \(reference.flwr_version)")
                }
                // The optimiser moved the adapter away from plain FedAvg.
                let last = try XCTUnwrap(rounds.last?.modules["m"]?.product)
                XCTAssertGreaterThan(zip(last, adapter(layout.initial, layout: name).modules["m"]!.product).map { abs($0 - $1) }.max()!, 1e-2)
            }
        }
    }

    func testStepsFollowTheFormulas() throws {
        // Adam's first step is η·sign(Δ)·|Δ|/(|Δ|+τ) after Flower's bias correction at t = 2:
        // η √(1 − β₂²)/(1 − β₁²) · (1 − β₁)Δ / (√(1 − β₂)|Δ| + τ).
        var adam = ServerOptimizer(settings: ServerOptimizerSettings(kind: .fedadam), learningRate: 0.1)
        let delta = [0.5, -0.25, 0]
        let step = try adam.step(delta)
        for (s, d) in zip(step, delta) {
            let expected = 0.1 * (1 - 0.99 * 0.99).squareRoot() / (1 - 0.9 * 0.9) * 0.1 * d / ((0.01 * d * d).squareRoot() + 1e-3)
            XCTAssertEqual(s, expected, accuracy: 1e-15)
        }
        XCTAssertEqual(adam.steps, 1)
        // Without an optimiser the step is η·Δ, bit for bit the old server learning rate.
        var none = ServerOptimizer(settings: ServerOptimizerSettings(), learningRate: 0.5)
        XCTAssertEqual(try none.step(delta), delta.map { 0.5 * $0 })
        XCTAssertTrue(none.firstMoment.isEmpty)
        // A delta of another layout is refused.
        XCTAssertThrowsError(try adam.step([1])) { XCTAssertTrue("\($0)".contains("moments have 3 values"), "\($0)") }
        XCTAssertEqual(adam.steps, 1)
    }

    func testMomentsSaveAndRestoreBitForBit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("server-optimizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var yogi = ServerOptimizer(settings: ServerOptimizerSettings(kind: .fedyogi), learningRate: 0.1)
        _ = try yogi.step([0.1, -1.0 / 3, 1e-30])
        _ = try yogi.step([0.2, 2.0 / 3, -7])
        try yogi.save(to: directory, completedRounds: 2)
        let fresh = ServerOptimizer(settings: ServerOptimizerSettings(kind: .fedyogi), learningRate: 0.1)
        let restored = try fresh.restored(from: directory, completedRounds: 2)
        XCTAssertEqual(restored, yogi)
        var a = yogi, b = restored
        XCTAssertEqual(try a.step([1, 2, 3]), try b.step([1, 2, 3]))
        // Another round or another optimiser is refused, naming the file.
        XCTAssertThrowsError(try fresh.restored(from: directory, completedRounds: 3)) {
            XCTAssertTrue("\($0)".contains("server_optimizer.safetensors is of round 2"), "\($0)")
        }
        let adam = ServerOptimizer(settings: ServerOptimizerSettings(kind: .fedadam), learningRate: 0.1)
        XCTAssertThrowsError(try adam.restored(from: directory, completedRounds: 2)) {
            XCTAssertTrue("\($0)".contains("moments of fedyogi"), "\($0)")
        }
        // `none` keeps no state and writes none.
        let none = ServerOptimizer(settings: ServerOptimizerSettings(), learningRate: 1)
        try FileManager.default.removeItem(at: directory.appendingPathComponent(ServerOptimizer.stateFile))
        try none.save(to: directory, completedRounds: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(ServerOptimizer.stateFile).path))
    }
}

import Crypto
import FTCore
import FTDist
@testable import FTFederated
import FTModel
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Sites of different LoRA ranks through the whole path of `fttrain federated` on an in-process
/// world (a tiny random Llama, real local training): each site trains at its own `lora_r`, the
/// coordinator's svd aggregation takes the mean of their products at the global rank, and each
/// site starts the next round from the global adapter re-factorised at its rank. Then a federation
/// with FedAdam stopped after a round and resumed ends bit for bit where an uninterrupted one does.
final class FederatedHeterogeneousRanksTests: TinyLlamaFederationTestCase {
    override class var directoryPrefix: String { "federated-ranks" }
    override class var rows: (site1: Range<Int>, site2: Range<Int>, validation: Range<Int>) { (0..<12, 12..<32, 40..<46) }
    let identities = Identities()

    func yaml(output: String, rounds: Int, aggregation: String = "svd", optimizer: String = "none", siteRanks: [Int] = [1, 2]) -> String {
        """
        model_dir: \(directory.appendingPathComponent("model").path)
        output_dir: \(directory.appendingPathComponent(output).path)
        validation_file: \(directory.appendingPathComponent("validation.jsonl").path)
        peft: lora
        lora_r: 4
        lora_alpha: 8
        lora_target_modules: [q_proj, v_proj, down_proj]
        learning_rate: 2.0e-2
        num_train_epochs: 1
        per_device_train_batch_size: 4
        max_length: 64
        seed: 5
        federation:
          rounds: \(rounds)
          min_sites: 2
          round_deadline: 120
          aggregation: \(aggregation)
          server_optimizer: \(optimizer)
        sites:
          - name: site-1
            ranks: [1]
            lora_r: \(siteRanks[0])
            train_file: \(directory.appendingPathComponent("site-1.jsonl").path)
            public_key: \(identities[0].publicKeyBase64)
          - name: site-2
            ranks: [2]
            lora_r: \(siteRanks[1])
            train_file: \(directory.appendingPathComponent("site-2.jsonl").path)
            public_key: \(identities[1].publicKeyBase64)
        """
    }

    /// Runs `fttrain federated`'s coordinator and two sites (trained at their own ranks).
    @discardableResult
    private func federate(_ configuration: FederatedConfiguration, resume: Bool = false) throws -> [RecordingTrainer] {
        let trainers = try configuration.sites.indices.map { index in
            RecordingTrainer(
                try LoRASiteTrainer(
                    configuration: configuration.siteTraining(index), labels: [], trainFile: configuration.sites[index].trainFile,
                    world: SingleProcessWorld()))
        }
        let identities = self.identities
        _ = try InProcessCommunicator.run(size: 3, receiveTimeout: 120) { communicator -> Int in
            let channel = MessageChannel(communicator: communicator)
            if communicator.rank == 0 {
                let registry = try SiteRegistry(publicKeys: ["site-1": identities[0].publicKeyBase64, "site-2": identities[1].publicKeyBase64])
                _ = try FederatedCoordinatorRun(configuration: configuration, channel: channel).run(resume: resume, registry: registry) { _ in }
                return 0
            }
            let index = communicator.rank - 1
            try FederatedSite(
                channel: channel, index: index, settings: configuration.settings,
                signer: UpdateSigner(site: "site-\(index + 1)", privateKey: identities[index].privateKey), trainer: trainers[index]
            ).run()
            return 0
        }
        return trainers
    }

    private func globalAdapter(_ output: String) throws -> AdapterUpdate {
        let url = directory.appendingPathComponent(output).appendingPathComponent(FederationState.adapterFile)
        return try AdapterCodec.decode([UInt8](try Data(contentsOf: url)), source: url.path).update
    }

    func testSitesOfDifferentRanksTrainAndMeetInTheMeanOfTheirProducts() throws {
        let configuration = try FederatedConfiguration.decode(yaml: yaml(output: "ranks", rounds: 2), source: "fed.yaml")
        // Each site's scaling α/r is the federation's 8/4: the products average as they act.
        XCTAssertEqual(configuration.siteTraining(0).loraR, 1)
        XCTAssertEqual(configuration.siteTraining(0).loraAlpha, 2)
        XCTAssertEqual(configuration.siteTraining(1).loraAlpha, 4)
        let trainers = try federate(configuration)
        let global = try globalAdapter("ranks")
        XCTAssertEqual(global.modules.count, 2 * 3)

        for (trainer, rank) in zip(trainers, [1, 2]) {
            XCTAssertEqual(trainer.sent.count, 2)
            for update in trainer.sent { XCTAssertTrue(update.modules.values.allSatisfy { $0.rank == rank }, "site of rank \(rank)") }
            XCTAssertTrue(trainer.received[1].modules.values.allSatisfy { $0.rank == 4 }, "the global adapter travels at its rank")
            // The round's start is the best rank-r approximation of the global product (Eckart–Young):
            // what is left is the singular values past r.
            for (name, g) in trainer.received[1].modules {
                let start = try LoRAAggregation.fit(trainer.received[1], toRanksOf: trainer.sent[1]).modules[name]!
                XCTAssertEqual(start.rank, rank)
                let full = g.product, residual = zip(full, start.product).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                let svd = try SingularValueDecomposition(full, rows: g.outFeatures, columns: g.inFeatures)
                let tail = svd.singularValues.dropFirst(rank).map { $0 * $0 }.reduce(0, +)
                XCTAssertEqual(residual, tail, accuracy: 1e-6 * max(1, full.map { $0 * $0 }.reduce(0, +)), name)
            }
        }
        // Ranks 1 + 2 fit in the global rank 4: the global product is the sites' weighted mean (12 and 20 examples).
        let (one, two) = (trainers[0].sent[1], trainers[1].sent[1])
        XCTAssertEqual([one.examples, two.examples], [12, 20])
        for (name, g) in global.modules {
            let mean = zip(one.modules[name]!.product, two.modules[name]!.product).map { (12 * $0 + 20 * $1) / 32 }
            let scale = mean.map(abs).max()!
            XCTAssertGreaterThan(scale, 1e-4, "\(name) trained")
            XCTAssertLessThanOrEqual(zip(g.product, mean).map { abs($0 - $1) }.max()!, 1e-5 * scale, name)
        }
        // Round 0's global B is zero: each site started from its own initial adapter, which trained.
        for trainer in trainers {
            XCTAssertTrue(trainer.received[0].modules.values.allSatisfy { $0.b.allSatisfy { $0 == 0 } })
            XCTAssertTrue(trainer.sent[0].modules.values.allSatisfy { $0.b.contains { $0 != 0 } })
        }
    }

    func testOnlySVDMixesRanksAndTheOptimiserKeysAreRead() throws {
        XCTAssertThrowsError(
            try FederatedConfiguration.decode(yaml: yaml(output: "x", rounds: 1, aggregation: "fedavg"), source: "fed.yaml")
        ) { XCTAssertTrue("\($0)".contains("only aggregation: svd mixes ranks"), "\($0)") }
        XCTAssertThrowsError(
            try FederatedConfiguration.decode(yaml: yaml(output: "x", rounds: 1, optimizer: "adam"), source: "fed.yaml")
        ) { XCTAssertTrue("\($0)".contains("server_optimizer must be none, fedadam, fedyogi or fedadagrad"), "\($0)") }
        let fedavg = try FederatedConfiguration.decode(
            yaml: yaml(output: "x", rounds: 1, aggregation: "fedavg", siteRanks: [4, 4]), source: "fed.yaml")
        XCTAssertEqual(fedavg.settings.serverLearningRate, 1)
        let adam = try FederatedConfiguration.decode(yaml: yaml(output: "x", rounds: 1, optimizer: "fedadam"), source: "fed.yaml")
        XCTAssertEqual(adam.settings.serverLearningRate, 0.1)
        XCTAssertEqual(adam.settings.serverOptimizer, ServerOptimizerSettings(kind: .fedadam, beta1: 0.9, beta2: 0.99, tau: 1e-3))
    }

    func testAResumedFedAdamFederationEndsBitForBitAsAnUninterruptedOne() throws {
        let whole = try FederatedConfiguration.decode(yaml: yaml(output: "whole", rounds: 3, optimizer: "fedadam"), source: "fed.yaml")
        try federate(whole)
        // Stopped after round 0, then continued by new processes (new site trainers) with --resume.
        try federate(try FederatedConfiguration.decode(yaml: yaml(output: "resumed", rounds: 1, optimizer: "fedadam"), source: "fed.yaml"))
        let firstRound = try Data(contentsOf: directory.appendingPathComponent("resumed/server_optimizer.safetensors"))
        try federate(
            try FederatedConfiguration.decode(yaml: yaml(output: "resumed", rounds: 3, optimizer: "fedadam"), source: "fed.yaml"), resume: true)

        for file in [FederationState.adapterFile, ServerOptimizer.stateFile] {
            let a = try Data(contentsOf: directory.appendingPathComponent("whole").appendingPathComponent(file))
            let b = try Data(contentsOf: directory.appendingPathComponent("resumed").appendingPathComponent(file))
            XCTAssertEqual(a, b, file)
        }
        XCTAssertNotEqual(firstRound, try Data(contentsOf: directory.appendingPathComponent("resumed/server_optimizer.safetensors")))
        func losses(_ output: String) throws -> [Double] {
            try String(contentsOf: directory.appendingPathComponent(output).appendingPathComponent("rounds.jsonl"), encoding: .utf8)
                .split(separator: "\n").map { line in
                    let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    return try XCTUnwrap(record["eval_loss"] as? Double)
                }
        }
        XCTAssertEqual(try losses("whole"), try losses("resumed"))
        XCTAssertEqual(try losses("whole").count, 3)
        // Without the moments the resumed federation would differ: a fresh FedAdam's third step is another.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("resumed/server_optimizer.safetensors"))
        XCTAssertThrowsError(
            try FederationState.load(from: directory.appendingPathComponent("resumed")).map { state in
                try ServerOptimizer(settings: whole.settings.serverOptimizer, learningRate: 0.1)
                    .restored(from: directory.appendingPathComponent("resumed"), completedRounds: state.completedRounds)
            }
        ) { XCTAssertTrue("\($0)".contains("server_optimizer.safetensors is missing"), "\($0)") }
    }
}

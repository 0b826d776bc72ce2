import FTCore
import FTDist
@testable import FTFederated
import FTModel
import FTTrain
import Foundation
import TestSupport
import XCTest

/// A federation that trains a causal LM's adapter: a tiny random Llama, two sites with their own
/// SFT rows, the coordinator of `fttrain federated` (`FederatedCoordinatorRun`) on an in-process
/// world. The sites' real local training (`LoRASiteTrainer`), FedAvg of their LoRA factors, the
/// global adapter's validation loss falling, and the configuration's rules for `labels`.
final class FederatedCausalLMTests: TinyLlamaFederationTestCase {
    override class var directoryPrefix: String { "federated-causal" }

    func yaml(labels: String? = nil, modelDir: String? = nil, publicKeys: [String] = ["a", "b"]) -> String {
        """
        model_dir: \(modelDir ?? directory.appendingPathComponent("model").path)
        output_dir: \(directory.appendingPathComponent("federation").path)
        validation_file: \(directory.appendingPathComponent("validation.jsonl").path)
        peft: lora
        lora_r: 4
        lora_alpha: 8
        lora_target_modules: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]
        learning_rate: 2.0e-2
        num_train_epochs: 1
        per_device_train_batch_size: 4
        max_length: 64
        seed: 5
        federation:
          rounds: 3
          min_sites: 2
          round_deadline: 120
        \(labels.map { "  labels: \($0)\n" } ?? "")sites:
          - name: site-1
            ranks: [1]
            train_file: \(directory.appendingPathComponent("site-1.jsonl").path)
            public_key: \(publicKeys[0])
          - name: site-2
            ranks: [2]
            train_file: \(directory.appendingPathComponent("site-2.jsonl").path)
            public_key: \(publicKeys[1])
        """
    }

    func testLabelsAreForClassifiersOnly() throws {
        let keys = Identities().keys.map(\.publicKeyBase64)
        let causal = try FederatedConfiguration.decode(yaml: yaml(publicKeys: keys), source: "fed.yaml")
        XCTAssertEqual(causal.labels, [])
        XCTAssertThrowsError(try FederatedConfiguration.decode(yaml: yaml(labels: "[yes, no]", publicKeys: keys), source: "fed.yaml")) {
            XCTAssertTrue("\($0)".contains("federation.labels is for sequence classification"), "\($0)")
        }
        let encoder = directory.appendingPathComponent("no-such-encoder").path
        XCTAssertThrowsError(try FederatedConfiguration.decode(yaml: yaml(modelDir: encoder, publicKeys: keys), source: "fed.yaml")) {
            XCTAssertTrue("\($0)".contains("federation.labels is required"), "\($0)")
        }
    }

    func testTwoSitesTrainTheLlamaAdapterByFedAvg() throws {
        let identities = Identities()
        let configuration = try FederatedConfiguration.decode(yaml: yaml(publicKeys: identities.keys.map(\.publicKeyBase64)), source: "fed.yaml")
        let trainers = try configuration.sites.map {
            RecordingTrainer(
                try LoRASiteTrainer(configuration: configuration.training, labels: [], trainFile: $0.trainFile, world: SingleProcessWorld()))
        }
        XCTAssertEqual(trainers.map(\.inner.dataset.count), [16, 24])
        // The base model's validation loss: the initial adapter (B = 0) changes nothing.
        let base = try FederatedTask(configuration: configuration.training, labels: [])
        let baseLoss = try XCTUnwrap(try base.evaluate(try base.read(configuration.training.validationFile!), prefix: "eval_")["eval_loss"])

        let metrics = try InProcessCommunicator.run(size: 3, receiveTimeout: 120) { communicator -> [String: Double] in
            let channel = MessageChannel(communicator: communicator)
            if communicator.rank == 0 {
                let registry = try SiteRegistry(
                    publicKeys: ["site-1": identities.keys[0].publicKeyBase64, "site-2": identities.keys[1].publicKeyBase64])
                return try FederatedCoordinatorRun(configuration: configuration, channel: channel).run(resume: false, registry: registry) { _ in }
            }
            let index = communicator.rank - 1
            try FederatedSite(
                channel: channel, index: index, settings: configuration.settings,
                signer: UpdateSigner(site: "site-\(index + 1)", privateKey: identities.keys[index].privateKey),
                trainer: trainers[index]
            ).run()
            return [:]
        }[0]

        let output = directory.appendingPathComponent("federation")
        let rounds = try String(contentsOf: output.appendingPathComponent("rounds.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(rounds.count, 3)
        for round in rounds { XCTAssertEqual(round["reported"] as? [String], ["site-1", "site-2"]) }
        let losses = rounds.map { ($0["eval_loss"] as? Double) ?? .nan }
        XCTAssertLessThan(losses[2], baseLoss * 0.8, "the global adapter learns: base \(baseLoss), rounds \(losses)")
        XCTAssertEqual(try XCTUnwrap(metrics["eval_loss"]), losses[2], accuracy: 1e-9)

        // Only the LoRA factors of the 7 projections travel (no head), and the global adapter of each
        // round is FedAvg of the sites' factors (weights 16 and 24 examples).
        for trainer in trainers {
            XCTAssertEqual(trainer.sent.count, 3)
            XCTAssertEqual(trainer.sent[0].modules.count, 2 * 7)
            XCTAssertTrue(trainer.sent[0].dense.isEmpty, "\(trainer.sent[0].dense.keys)")
            XCTAssertEqual(trainer.sent[0].examples, trainer.inner.dataset.count)
            XCTAssertNotEqual(trainer.sent[0].modules.values.first?.b, trainer.received[0].modules.values.first?.b)
        }
        let (global, _) = try AdapterCodec.decode(
            [UInt8](try Data(contentsOf: output.appendingPathComponent("global_adapter.safetensors"))), source: "global adapter")
        for round in 1..<3 {
            XCTAssertEqual(trainers[0].received[round].modules.keys.sorted(), trainers[1].received[round].modules.keys.sorted())
        }
        let expected = try LoRAAggregation.aggregate(trainers.map { $0.sent[2] }, global: trainers[0].received[2], mode: .fedavg)
        for (name, factors) in expected.modules {
            let got = try XCTUnwrap(global.modules[name], name)
            let a = trainers[0].sent[2].modules[name]!, b = trainers[1].sent[2].modules[name]!
            for i in 0..<factors.a.count {
                XCTAssertEqual(got.a[i], factors.a[i], accuracy: 1e-6, name)
                XCTAssertEqual(got.a[i], (16 * a.a[i] + 24 * b.a[i]) / 40, accuracy: 1e-6, name)
            }
            for i in 0..<factors.b.count { XCTAssertEqual(got.b[i], (16 * a.b[i] + 24 * b.b[i]) / 40, accuracy: 1e-6, name) }
        }

        // The adapter directory is PEFT's CAUSAL_LM adapter (no labels file) and scores as the run did.
        let adapter = output.appendingPathComponent("adapter")
        XCTAssertFalse(FileManager.default.fileExists(atPath: adapter.appendingPathComponent(PEFTTraining.labelsFile).path))
        let adapterConfig =
            try JSONSerialization.jsonObject(with: Data(contentsOf: adapter.appendingPathComponent("adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(adapterConfig?["task_type"] as? String, "CAUSAL_LM")
        let loaded = try CausalModelLoading.load(path: configuration.training.modelDir!, adapter: adapter)
        var options = CausalLanguageModelingTask.Options(configuration: configuration.training, maxSequenceLength: 128)
        options.validationPath = nil
        options.splitRatios = [1, 0, 0]
        let task = try CausalLanguageModelingTask(
            trainPath: configuration.training.validationFile!, options: options, tokenizer: loaded.tokenizer,
            vocabularySize: loaded.model.vocabularySize)
        let reloaded = try CausalLMEvaluation.loss(
            model: loaded.model, dataset: task.train, batchSize: 8, padTokenId: loaded.tokenizer.padTokenId, world: SingleProcessWorld())
        XCTAssertEqual(reloaded.mean, losses[2], accuracy: 1e-5)
    }
}

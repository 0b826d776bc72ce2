import FTCore
import FTDist
@testable import FTFederated
import FTModel
import FTTrain
import Foundation
import TestSupport
import XCTest

/// A federation that trains a token classifier (NER) with LoRA: a tiny random BERT, two sites
/// with their own CoNLL sentences, the coordinator of `fttrain federated`
/// (`FederatedCoordinatorRun`) on an in-process world. The sites train for real
/// (`LoRASiteTrainer`); the global adapter of the last round is FedAvg of the sites' LoRA factors
/// and token head (weights: their sentence counts); the validation loss falls below the base
/// model's; the adapter is PEFT's TOKEN_CLS.
final class FederatedTokenClassificationTests: XCTestCase {
    var directory: URL!
    var savedThreads = 1
    static let people = ["张", "李", "王"], places = ["北", "京", "上", "海"], others = ["在", "工", "作", "去", "了"]

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("federated-ner-\(UUID().uuidString)")
        try TinyModelDirectory.write(to: directory.appendingPathComponent("model"), words: Self.people + Self.places + Self.others + ["三"])
        // "张三在北京工作": PER = surname + 三, LOC = a two-character place.
        func sentences(_ range: Range<Int>) -> String {
            range.map { i in
                let person = Self.people[i % 3], place = i % 2 == 0 ? ["北", "京"] : ["上", "海"]
                let rest = i % 3 == 0 ? ["工", "作"] : ["去", "了"]
                var lines = ["\(person) B-PER", "三 I-PER", "在 O", "\(place[0]) B-LOC", "\(place[1]) I-LOC"]
                lines += rest.map { "\($0) O" }
                return lines.joined(separator: "\n")
            }.joined(separator: "\n\n") + "\n"
        }
        try sentences(0..<10).write(to: directory.appendingPathComponent("site-1.conll"), atomically: true, encoding: .utf8)
        try sentences(10..<24).write(to: directory.appendingPathComponent("site-2.conll"), atomically: true, encoding: .utf8)
        try sentences(24..<30).write(to: directory.appendingPathComponent("validation.conll"), atomically: true, encoding: .utf8)
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDownWithError() throws {
        Parallel.threadCount = savedThreads
        try? FileManager.default.removeItem(at: directory)
    }

    typealias RecordingTrainer = RecordingSiteTrainer
    typealias Identities = SiteIdentities

    func yaml(publicKeys: [String], labels: String = "[O, B-PER, I-PER, B-LOC, I-LOC]") -> String {
        """
        model_dir: \(directory.appendingPathComponent("model").path)
        output_dir: \(directory.appendingPathComponent("federation").path)
        validation_file: \(directory.appendingPathComponent("validation.conll").path)
        task: token_classification
        peft: lora
        lora_r: 4
        lora_alpha: 8
        learning_rate: 3.0e-2
        num_train_epochs: 2
        per_device_train_batch_size: 4
        hidden_dropout_prob: 0
        attention_probs_dropout_prob: 0
        max_length: 32
        seed: 5
        federation:
          rounds: 3
          min_sites: 2
          round_deadline: 120
          labels: \(labels)
        sites:
          - name: site-1
            ranks: [1]
            train_file: \(directory.appendingPathComponent("site-1.conll").path)
            public_key: \(publicKeys[0])
          - name: site-2
            ranks: [2]
            train_file: \(directory.appendingPathComponent("site-2.conll").path)
            public_key: \(publicKeys[1])
        """
    }

    func testTwoSitesTrainTheTokenClassifierByFedAvg() throws {
        let identities = Identities()
        let configuration = try FederatedConfiguration.decode(yaml: yaml(publicKeys: identities.keys.map(\.publicKeyBase64)), source: "fed.yaml")
        XCTAssertEqual(configuration.training.task, .tokenClassification)
        let trainers = try configuration.sites.map {
            RecordingTrainer(
                try LoRASiteTrainer(
                    configuration: configuration.training, labels: configuration.labels, trainFile: $0.trainFile, world: SingleProcessWorld()))
        }
        XCTAssertEqual(trainers.map(\.inner.dataset.count), [10, 14])
        XCTAssertEqual(trainers[0].inner.dataset.tokenLabels[0], [-100, 1, 2, 0, 3, 4, 0, 0, -100], "tags in the federation's id order")
        let base = try FederatedTask(configuration: configuration.training, labels: configuration.labels)
        XCTAssertEqual(base.model.architectureName, "BertForTokenClassification")
        let baseMetrics = try base.evaluate(try base.read(configuration.training.validationFile!), prefix: "eval_")
        let baseLoss = try XCTUnwrap(baseMetrics["eval_loss"])
        XCTAssertNotNil(baseMetrics["eval_overall_f1"] ?? baseMetrics["eval_f1"], "seqeval's metrics: \(baseMetrics.keys.sorted())")

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

        // LoRA factors of query and value in 2 layers travel with the token head (modules_to_save).
        for trainer in trainers {
            XCTAssertEqual(trainer.sent.count, 3)
            XCTAssertEqual(trainer.sent[0].modules.count, 2 * 2)
            XCTAssertEqual(
                trainer.sent[0].dense.keys.sorted(),
                ["base_model.model.classifier.bias", "base_model.model.classifier.weight"])
            XCTAssertEqual(trainer.sent[0].examples, trainer.inner.dataset.count)
        }
        // The in-process reference: the last global adapter is FedAvg (10 and 14 sentences) of what the sites sent.
        let (global, _) = try AdapterCodec.decode(
            [UInt8](try Data(contentsOf: output.appendingPathComponent("global_adapter.safetensors"))), source: "global adapter")
        let expected = try LoRAAggregation.aggregate(trainers.map { $0.sent[2] }, global: trainers[0].received[2], mode: .fedavg)
        let a = trainers[0].sent[2], b = trainers[1].sent[2]
        for (name, factors) in expected.modules {
            let got = try XCTUnwrap(global.modules[name], name)
            for i in 0..<factors.a.count {
                XCTAssertEqual(got.a[i], factors.a[i], accuracy: 1e-6, name)
                XCTAssertEqual(got.a[i], (10 * a.modules[name]!.a[i] + 14 * b.modules[name]!.a[i]) / 24, accuracy: 1e-6, name)
            }
            for i in 0..<factors.b.count {
                XCTAssertEqual(got.b[i], (10 * a.modules[name]!.b[i] + 14 * b.modules[name]!.b[i]) / 24, accuracy: 1e-6, name)
            }
        }
        for (name, values) in expected.dense {
            let got = try XCTUnwrap(global.dense[name], name)
            for i in values.indices { XCTAssertEqual(got[i], (10 * a.dense[name]![i] + 14 * b.dense[name]![i]) / 24, accuracy: 1e-6, name) }
        }
        let adapterConfig =
            try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("adapter/adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(adapterConfig?["task_type"] as? String, "TOKEN_CLS")
    }

    func testATagOutsideTheFederationsLabelsFails() throws {
        let identities = Identities()
        let configuration = try FederatedConfiguration.decode(
            yaml: yaml(publicKeys: identities.keys.map(\.publicKeyBase64), labels: "[O, B-PER, I-PER]"), source: "fed.yaml")
        XCTAssertThrowsError(
            try LoRASiteTrainer(
                configuration: configuration.training, labels: configuration.labels, trainFile: configuration.sites[0].trainFile,
                world: SingleProcessWorld())
        ) {
            XCTAssertTrue("\($0)".contains("B-LOC") && "\($0)".contains("site-1.conll"), "\($0)")
        }
    }
}

import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Issue 16: a token classifier (`BertForTokenClassification`, random head over the tiny encoder)
/// served as `token_classifier`, whose `/v1/predict` answers the entities `fttrain predict` prints,
/// alone and under concurrent clients; and an INT8 directory written by `fttrain quantize`, served
/// with its INT8 products, answering what `fttrain predict` prints on it.
final class ServeTokenClassifierTests: ServeTestCase {
    var tokenDirectory: URL { directory.appendingPathComponent("ner") }
    static let tags = ["O", "B-PER", "I-PER", "B-LOC"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        let model = try ModelRegistry.load(modelDirectory: encoderDirectory, numLabels: Self.tags.count, head: .tokenClassification, seed: 9)
        var rng = SeededRNG(seed: 13)
        for view in model.store.views where view.name.hasPrefix("classifier") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = rng.nextNormal() }  // a head that tags plenty of entities
        }
        try HuggingFaceExport.write(model: model, labels: Self.tags, baseModelDirectory: encoderDirectory, to: tokenDirectory)
    }

    func tokenConfiguration(_ change: (inout ServeConfiguration) -> Void = { _ in }) -> ServeConfiguration {
        configuration {
            $0.models = [.init(name: "ner", directory: tokenDirectory.path), .init(name: "classifier", directory: classifierDirectory.path)]
            $0.adapters = []
            change(&$0)
        }
    }

    /// What `fttrain predict` computes on the token classifier: `EntityPrediction` with its
    /// defaults (max length 128, batches of 64).
    func predictCommandEntities(_ texts: [String]) throws -> [[PredictedEntity]] {
        let tokenizer = try BertTokenizer.load(modelDirectory: tokenDirectory)
        let model = try ModelRegistry.load(modelDirectory: tokenDirectory, numLabels: Self.tags.count)
        return try EntityPrediction.predict(
            texts: texts, model: model, tokenizer: tokenizer, labels: Self.tags, maxLength: min(128, model.maxSequenceLength), batchSize: 64)
    }

    /// The entities of one served prediction object.
    func entities(_ prediction: [String: Any]) throws -> [PredictedEntity] {
        try XCTUnwrap(prediction["entities"] as? [[String: Any]]).map { e in
            PredictedEntity(
                type: try XCTUnwrap(e["type"] as? String), start: try XCTUnwrap(e["start"] as? Int), end: try XCTUnwrap(e["end"] as? Int),
                text: try XCTUnwrap(e["text"] as? String), score: Float(try XCTUnwrap(e["score"] as? Double)))
        }
    }

    /// Served entities equal predict's (place, type, text exactly; score within 1e-6), with its keys.
    func assertEqual(_ got: [PredictedEntity], _ want: [PredictedEntity], _ message: String) {
        XCTAssertEqual(got, want, message)
        for (g, w) in zip(got, want) { XCTAssertEqual(g.score, w.score, accuracy: 1e-6, message) }
    }

    /// `/info` names the kind and its tags; a request of texts gets predict's entities; a pair and
    /// an A/B arm over it are refused by name.
    func testServedEntitiesEqualPredict() async throws {
        let (_, port) = try await start(tokenConfiguration())
        let info = try HTTPTestClient.get(port: port, path: "/info")
        let models = try XCTUnwrap(info.json["models"] as? [[String: Any]])
        let ner = try XCTUnwrap(models.first { $0["name"] as? String == "ner" })
        XCTAssertEqual(ner["kind"] as? String, "token_classifier")
        XCTAssertEqual(ner["labels"] as? [String], Self.tags)
        XCTAssertEqual(models.first { $0["name"] as? String == "classifier" }?["kind"] as? String, "classifier")

        let texts = Self.texts(10, seed: 5).map(\.0) + ["the man, who finds a city!", "", "good good good good"]
        let expected = try predictCommandEntities(texts)
        XCTAssertGreaterThan(expected.joined().count, 5, "the random head tags entities, so the comparison means something")
        let response = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner", "inputs": texts])
        XCTAssertEqual(response.status, 200, response.text)
        let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.count, texts.count)
        for (i, prediction) in predictions.enumerated() {
            XCTAssertEqual(Set(prediction.keys), ["entities"])
            assertEqual(try entities(prediction), expected[i], "text \(i): \(texts[i])")
        }
        // The classifier next to it still answers labels.
        let labelled = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "good film"])
        XCTAssertNotNil((labelled.json["predictions"] as? [[String: Any]])?.first?["label"])

        let pair = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner", "inputs": [["good", "bad"]]])
        XCTAssertEqual(pair.status, 400)
        XCTAssertTrue(pair.text.contains("inputs[0]: model ner is a token classifier"), pair.text)
        XCTAssertThrowsError(
            try ServeServer(configuration: tokenConfiguration { $0.routes = ["r": "{\"ab\": {\"ner\": 1, \"classifier\": 1}}"] })
        ) { error in XCTAssertTrue("\(error)".contains("arm ner is a token classifier"), "\(error)") }
    }

    /// A token-classification adapter (PEFT task_type TOKEN_CLS, `classifier` saved, labels.json)
    /// over the served encoder is served as a token classifier: its entities equal those of the
    /// adapted model it was written from (place, type, text exactly; score within 1e-6).
    func testTokenClassificationAdapterServesEntities() async throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["query", "value"])
        let adapted = try EncoderModel.load(
            modelDirectory: encoderDirectory, numLabels: Self.tags.count, head: .tokenClassification, seed: 5, peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 31)
        for view in adapted.store.views where lora.isTrainable(view.name) {
            let p = adapted.store.value(view.name)
            for i in 0..<view.count { p[i] = (view.name.hasPrefix("classifier") ? 1 : 0.3) * rng.nextNormal() }
        }
        let nerAdapter = directory.appendingPathComponent("ner-adapter")
        try PEFTAdapter.write(
            model: adapted, to: nerAdapter, baseModelName: encoderDirectory.path, extraFiles: try PEFTTraining.labelsFiles(Self.tags))
        let (_, port) = try await start(configuration { $0.adapters = [.init(name: "ner-lora", base: "encoder", directory: nerAdapter.path)] })
        let info = try HTTPTestClient.get(port: port, path: "/info")
        let served = try XCTUnwrap((info.json["models"] as? [[String: Any]])?.first { $0["name"] as? String == "ner-lora" })
        XCTAssertEqual(served["kind"] as? String, "token_classifier")
        XCTAssertEqual(served["labels"] as? [String], Self.tags)

        let texts = Self.texts(8, seed: 6).map(\.0) + ["the man, who finds a city!"]
        let tokenizer = try BertTokenizer.load(modelDirectory: encoderDirectory)
        let expected = try EntityPrediction.predict(
            texts: texts, model: adapted, tokenizer: tokenizer, labels: Self.tags, maxLength: min(128, adapted.maxSequenceLength), batchSize: 64)
        XCTAssertGreaterThan(expected.joined().count, 3, "the random head tags entities, so the comparison means something")
        let response = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner-lora", "inputs": texts])
        XCTAssertEqual(response.status, 200, response.text)
        let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.count, texts.count)
        for (i, prediction) in predictions.enumerated() {
            assertEqual(try entities(prediction), expected[i], "text \(i): \(texts[i])")
        }
        // A sequence classifier's adapter and a token classifier's cannot share one base model.
        XCTAssertThrowsError(
            try ServeServer(
                configuration: configuration {
                    $0.adapters.append(.init(name: "ner-lora", base: "encoder", directory: nerAdapter.path))
                })
        ) { error in XCTAssertTrue("\(error)".contains("adapters over one model share one kind of head"), "\(error)") }
    }

    /// With --no-truncate a text over max_length is refused; with truncation it gets predict's
    /// entities at that length.
    func testLengthLimit() async throws {
        let (_, port) = try await start(tokenConfiguration { $0.maxLength = 6 })
        let text = "the man who finds a city was good"
        let response = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner", "inputs": [text]])
        XCTAssertEqual(response.status, 200, response.text)
        let tokenizer = try BertTokenizer.load(modelDirectory: tokenDirectory)
        let model = try ModelRegistry.load(modelDirectory: tokenDirectory, numLabels: Self.tags.count)
        let want = try EntityPrediction.predict(texts: [text], model: model, tokenizer: tokenizer, labels: Self.tags, maxLength: 6, batchSize: 1)
        assertEqual(try entities(try XCTUnwrap((response.json["predictions"] as? [[String: Any]])?.first)), want[0], text)
        XCTAssertTrue(want[0].allSatisfy { $0.end <= "the man who finds".count }, "only the first four words fit in 6 tokens")

        let (_, strict) = try await start(
            tokenConfiguration {
                $0.maxLength = 6
                $0.truncate = false
            })
        let refused = try HTTPTestClient.post(port: strict, path: "/v1/predict", json: ["model": "ner", "inputs": ["good", text]])
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.text.contains("inputs[1]: 10 tokens, more than max_length 6 of model ner"), refused.text)
    }

    /// 12 clients × 4 requests of 1–3 texts at once (5 ms wait window, so batches mix clients):
    /// every answer equals predict's for its texts.
    func testConcurrentRequestsGetPredictsEntities() async throws {
        let (_, port) = try await start(tokenConfiguration { $0.maxWaitMilliseconds = 5 })
        let texts = Self.texts(12 * 4 * 2, seed: 8).map(\.0)
        let expected = try predictCommandEntities(texts)
        let answers = try await concurrently(12) { client -> [(Int, HTTPTestClient.Response)] in
            try (0..<4).map { r in
                let start = (client * 4 + r) * 2
                let inputs = Array(texts[start..<min(start + 1 + (client + r) % 3, texts.count)])
                return (start, try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner", "inputs": inputs]))
            }
        }
        var compared = 0
        for (start, response) in answers.joined() {
            XCTAssertEqual(response.status, 200, response.text)
            let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
            for (offset, prediction) in predictions.enumerated() {
                assertEqual(try entities(prediction), expected[start + offset], "text \(start + offset)")
                compared += 1
            }
        }
        let sent = (0..<12).reduce(0) { sum, c in sum + (0..<4).reduce(0) { $0 + min(1 + (c + $1) % 3, texts.count - (c * 4 + $1) * 2) } }
        XCTAssertEqual(compared, sent, "every text answered")
        XCTAssertGreaterThan(expected.joined().count, 20, "entities to compare")
    }

    /// The built binary: `fttrain predict`'s printed entity lines equal the served predictions, and
    /// an INT8 directory from `fttrain quantize` is served INT8 with predict's probabilities on it.
    func testBinaryPredictAndQuantizedDirectory() async throws {
        let int8Directory = directory.appendingPathComponent("classifier-int8")
        let quantized = try FTTrainProcess.run(
            ["quantize", "--model-dir", classifierDirectory.path, "--output-dir", int8Directory.path, "--threads", "1"])
        XCTAssertEqual(quantized.status, 0, quantized.stderr)
        let loaded = try ModelRegistry.load(modelDirectory: int8Directory, numLabels: 3)
        XCTAssertTrue(try XCTUnwrap(loaded as? EncoderModel).isQuantized, "the quantised directory loads with its INT8 products")

        let (_, port) = try await start(
            tokenConfiguration { $0.models.append(.init(name: "int8", directory: int8Directory.path)) })
        let texts = Self.texts(8, seed: 17).map(\.0)

        let printed = try FTTrainProcess.run(
            ["predict", "--model-dir", tokenDirectory.path, "--threads", "1"], stdin: texts.joined(separator: "\n") + "\n")
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let lines = printed.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, texts.count)
        let served = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner", "inputs": texts])
        let predictions = try XCTUnwrap(served.json["predictions"] as? [[String: Any]])
        for (i, line) in lines.enumerated() { assertEqual(try entities(predictions[i]), try entities(line), "text \(i)") }

        let int8Printed = try FTTrainProcess.run(
            ["predict", "--model-dir", int8Directory.path, "--threads", "1"], stdin: texts.joined(separator: "\n") + "\n")
        XCTAssertEqual(int8Printed.status, 0, int8Printed.stderr)
        let int8Lines = int8Printed.stdout.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let int8Served = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "int8", "inputs": texts])
        XCTAssertEqual(int8Served.status, 200, int8Served.text)
        let int8Predictions = try XCTUnwrap(int8Served.json["predictions"] as? [[String: Any]])
        let float32 = try predictCommandProbabilities(texts.map { ($0, nil) })
        var largestINT8Change: Float = 0
        for (i, line) in int8Lines.enumerated() {
            XCTAssertEqual(int8Predictions[i]["label"] as? String, line["label"] as? String, "text \(i)")
            let got = try XCTUnwrap(int8Predictions[i]["probabilities"] as? [String: Double])
            let want = try XCTUnwrap(line["probabilities"] as? [String: Double])
            for (k, label) in Self.labels.enumerated() {
                XCTAssertEqual(Float(got[label]!), Float(want[label]!), accuracy: 1e-6, "text \(i) \(label)")
                largestINT8Change = max(largestINT8Change, abs(Float(got[label]!) - float32[i][k]))
            }
        }
        XCTAssertGreaterThan(largestINT8Change, 0, "served INT8 answers are not float32's (the INT8 products ran)")
        print("serve int8: largest probability change from float32 \(largestINT8Change)")
    }
}

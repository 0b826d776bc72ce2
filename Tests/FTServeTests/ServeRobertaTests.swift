import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// `serve` on byte-level BPE RoBERTa directories with no vocab.txt (the tiny random
/// `RobertaForSequenceClassification` of Tests/FTModelTests/Fixtures/roberta_tiny, and a
/// `RobertaForTokenClassification` with a random head over it): both load their tokenizer.json and
/// answer `/v1/predict` — the classifier with probabilities over its labels, the token classifier
/// with the entities `fttrain predict` computes (`EntityPrediction`).
final class ServeRobertaTests: ServeTestCase {
    static var roberta: URL { TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/roberta_tiny") }
    var nerDirectory: URL { directory.appendingPathComponent("roberta-ner") }
    static let tags = ["O", "B-PER", "I-PER", "B-LOC"]

    func testServesRobertaClassifierAndTokenClassifier() async throws {
        let model = try ModelRegistry.load(modelDirectory: Self.roberta, numLabels: Self.tags.count, head: .tokenClassification, seed: 9)
        var rng = SeededRNG(seed: 13)
        for view in model.store.views where view.name.hasPrefix("classifier") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = rng.nextNormal() }  // a head that tags plenty of entities
        }
        try HuggingFaceExport.write(model: model, labels: Self.tags, baseModelDirectory: Self.roberta, to: nerDirectory)
        let (_, port) = try await start(
            configuration {
                $0.models = [.init(name: "roberta", directory: Self.roberta.path), .init(name: "ner", directory: nerDirectory.path)]
                $0.adapters = []
            })
        let texts = ["Peter lives in Paris.", "The movie was not good at all, honestly a waste of time.", "张三在北京工作"]
        let classified = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "roberta", "inputs": texts])
        XCTAssertEqual(classified.status, 200, classified.text)
        for prediction in try XCTUnwrap(classified.json["predictions"] as? [[String: Any]]) {
            let probabilities = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
            XCTAssertEqual(Set(probabilities.keys), ["LABEL_0", "LABEL_1", "LABEL_2"])
            XCTAssertEqual(probabilities.values.reduce(0, +), 1, accuracy: 1e-5)
        }

        let tokenizer = try EncoderTokenizers.load(modelDirectory: nerDirectory)
        let reloaded = try ModelRegistry.load(modelDirectory: nerDirectory, numLabels: Self.tags.count)
        let expected = try EntityPrediction.predict(
            texts: texts, model: reloaded, tokenizer: tokenizer, labels: Self.tags, maxLength: min(128, reloaded.maxSequenceLength), batchSize: 64)
        XCTAssertGreaterThan(expected.joined().count, 1, "the random head tags entities, so the comparison means something")
        let tagged = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "ner", "inputs": texts])
        XCTAssertEqual(tagged.status, 200, tagged.text)
        let predictions = try XCTUnwrap(tagged.json["predictions"] as? [[String: Any]])
        for (i, prediction) in predictions.enumerated() {
            let got = try XCTUnwrap(prediction["entities"] as? [[String: Any]]).map { e in
                PredictedEntity(
                    type: e["type"] as? String ?? "", start: e["start"] as? Int ?? -1, end: e["end"] as? Int ?? -1, text: e["text"] as? String ?? "")
            }
            XCTAssertEqual(got, expected[i], "text \(i)")
        }
    }
}

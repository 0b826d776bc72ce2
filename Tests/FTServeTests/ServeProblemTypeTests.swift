import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Issue 22: a multi-label classifier and regression models of one and three outputs
/// (`problem_type` in `config.json`, random heads over the tiny encoder) answer `/v1/predict` with
/// what `fttrain predict` prints: every label with its sigmoid probability and the chosen set at
/// the model's `thresholds.json`, the score, or the outputs' scores.
final class ServeProblemTypeTests: ServeTestCase {
    var multiDirectory: URL { directory.appendingPathComponent("multi") }
    var regressionDirectory: URL { directory.appendingPathComponent("regression") }
    var vectorDirectory: URL { directory.appendingPathComponent("vector") }
    static let outputs = ["valence", "arousal", "dominance"]
    static let tags = ["anger", "joy", "surprise"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        var rng = SeededRNG(seed: 17)
        for (labels, problemType, destination) in [
            (Self.tags, ProblemType.multiLabelClassification, multiDirectory), (["LABEL_0"], .regression, regressionDirectory),
            (Self.outputs, .regression, vectorDirectory),
        ] {
            let model = try ModelRegistry.load(modelDirectory: encoderDirectory, numLabels: labels.count, seed: 9)
            for view in model.store.views where view.name.hasPrefix("classifier") {
                let p = model.store.value(view.name)
                for i in 0..<view.count { p[i] = rng.nextNormal() }  // probabilities on both sides of 0.5
            }
            (model as? EncoderModel)?.problemType = problemType.rawValue
            try HuggingFaceExport.write(model: model, labels: labels, baseModelDirectory: encoderDirectory, to: destination)
        }
        try LabelThresholds.write([0.05, 0.95, 0.5], labels: Self.tags, to: multiDirectory)
    }

    func testPredictionsEqualPredict() async throws {
        let (_, port) = try await start(
            configuration {
                $0.models = [
                    .init(name: "multi", directory: multiDirectory.path), .init(name: "score", directory: regressionDirectory.path),
                    .init(name: "vector", directory: vectorDirectory.path),
                ]
                $0.adapters = []
            })
        let texts = Self.texts(8, seed: 3).map(\.0)
        for (name, directory, labels, problemType) in [
            ("multi", multiDirectory, Self.tags, ProblemType.multiLabelClassification), ("score", regressionDirectory, ["LABEL_0"], .regression),
            ("vector", vectorDirectory, Self.outputs, .regression),
        ] {
            XCTAssertEqual(ProblemType.of(modelDirectory: directory), problemType)
            let model = try ModelRegistry.load(modelDirectory: directory, numLabels: labels.count)
            let thresholds =
                problemType == .regression
                ? nil : try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: nil, overrides: nil)
            if let thresholds { XCTAssertEqual(thresholds, [0.05, 0.95, 0.5]) }
            func predict(_ thresholds: [Double]?) throws -> [[String: Any]] {
                try MultiLabelPrediction.predict(
                    texts: texts.map { ($0, nil) }, model: model, tokenizer: try BertTokenizer.load(modelDirectory: directory), labels: labels,
                    problemType: problemType, thresholds: thresholds, maxLength: model.maxSequenceLength, batchSize: 64)
            }
            let expected = try predict(thresholds)
            if thresholds != nil {
                let atHalf = try predict(nil)
                XCTAssertTrue(
                    zip(expected, atHalf).contains { ($0["predicted"] as! [String]) != ($1["predicted"] as! [String]) },
                    "the thresholds file changes some chosen set")
            }
            let response = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": name, "inputs": texts])
            XCTAssertEqual(response.status, 200, response.text)
            let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
            XCTAssertEqual(predictions.count, texts.count)
            for (i, prediction) in predictions.enumerated() {
                if problemType == .regression && labels.count > 1 {
                    XCTAssertEqual(Set(prediction.keys), ["outputs", "scores"])
                    XCTAssertEqual(prediction["outputs"] as? [String], Self.outputs)
                    let served = try XCTUnwrap(prediction["scores"] as? [Double]), wanted = try XCTUnwrap(expected[i]["scores"] as? [Double])
                    XCTAssertEqual(served.count, 3)
                    for (a, b) in zip(served, wanted) { XCTAssertEqual(a, b, accuracy: 1e-5, "text \(i)") }
                    continue
                }
                if problemType == .regression {
                    XCTAssertEqual(Set(prediction.keys), ["score"])
                    XCTAssertEqual(prediction["score"] as! Double, expected[i]["score"] as! Double, accuracy: 1e-5, "text \(i)")
                    continue
                }
                XCTAssertEqual(Set(prediction.keys), ["labels", "predicted"])
                let served = try XCTUnwrap(prediction["labels"] as? [[String: Any]])
                let wanted = try XCTUnwrap(expected[i]["labels"] as? [[String: Any]])
                XCTAssertEqual(served.map { $0["label"] as? String }, Self.tags)
                for (a, b) in zip(served, wanted) {
                    XCTAssertEqual(a["probability"] as! Double, b["probability"] as! Double, accuracy: 1e-5, "text \(i)")
                }
                XCTAssertEqual(prediction["predicted"] as? [String], expected[i]["predicted"] as? [String], "text \(i)")
            }
        }
    }
}

import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Issues 16 and 22: a question-answering model (`BertForQuestionAnswering`, random `qa_outputs`
/// over the tiny encoder) served as `question_answerer`, whose `/v1/predict` answers
/// `{question, context}` objects and `[question, context]` pairs with the spans `fttrain predict`
/// prints (`AnswerPrediction`); single texts are refused by name.
final class ServeQuestionAnsweringTests: ServeTestCase {
    var qaDirectory: URL { directory.appendingPathComponent("qa") }

    override func setUpWithError() throws {
        try super.setUpWithError()
        let model = try ModelRegistry.load(modelDirectory: encoderDirectory, numLabels: 2, head: .questionAnswering, seed: 9)
        var rng = SeededRNG(seed: 17)
        for view in model.store.views where view.name.hasPrefix("qa_outputs") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = rng.nextNormal() }
        }
        try HuggingFaceExport.write(model: model, labels: QuestionAnsweringTask.outputNames, baseModelDirectory: encoderDirectory, to: qaDirectory)
    }

    func testServedAnswersEqualPredict() async throws {
        let (_, port) = try await start(
            configuration {
                $0.models = [.init(name: "qa", directory: qaDirectory.path)]
                $0.adapters = []
            })
        let info = try HTTPTestClient.get(port: port, path: "/info")
        let models = try XCTUnwrap(info.json["models"] as? [[String: Any]])
        XCTAssertEqual(models.first { $0["name"] as? String == "qa" }?["kind"] as? String, "question_answerer")

        let texts = Self.texts(6, seed: 8).map(\.0)
        var pairs: [(question: String, context: String)] = []
        for k in 0..<5 {
            let context: String = texts[k] + " " + texts[k + 1] + " the man finds a city ."
            pairs.append((question: "who finds the city ?", context: context))
        }
        let tokenizer = try BertTokenizer.load(modelDirectory: qaDirectory)
        let model = try ModelRegistry.load(modelDirectory: qaDirectory, numLabels: 2)
        let expected = try AnswerPrediction.answer(
            pairs: pairs, model: model, tokenizer: tokenizer, maxLength: min(model.maxSequenceLength, 512), batchSize: 64)
        var inputs: [Any] = []
        for (k, p) in pairs.enumerated() {
            if k % 2 == 0 {
                let object: [String: String] = ["question": p.question, "context": p.context]
                inputs.append(object)
            } else {
                inputs.append([p.question, p.context])
            }
        }
        let response = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "qa", "inputs": inputs])
        XCTAssertEqual(response.status, 200, response.text)
        let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.count, pairs.count)
        for (k, (got, want)) in zip(predictions, expected).enumerated() {
            XCTAssertEqual(got["answer"] as? String, want.text, "pair \(k)")
            XCTAssertEqual(got["start"] as? Int, want.start, "pair \(k)")
            XCTAssertEqual(got["end"] as? Int, want.end, "pair \(k)")
            XCTAssertEqual(try XCTUnwrap(got["score"] as? Double), want.score, accuracy: 1e-6)
            if let start = want.start, let end = want.end {
                XCTAssertEqual(String(String.UnicodeScalarView(Array(pairs[k].context.unicodeScalars)[start..<end])), want.text)
            }
        }
        XCTAssertTrue(expected.contains { !$0.text.isEmpty }, "the comparison covers spans")

        let single = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "qa", "inputs": ["just a text"]])
        XCTAssertEqual(single.status, 400)
        XCTAssertTrue(single.text.contains("inputs[0]: model qa answers questions"), single.text)
    }

    /// A QA LoRA adapter (PEFT task_type QUESTION_ANS, `qa_outputs` in modules_to_save) over the
    /// served encoder is served as `question_answerer`; its answers equal those of the adapted
    /// model it was written from (text and offsets exactly, score within 1e-6).
    func testServedAdapterAnswersEqualAdaptedModel() async throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["query", "value"], modulesToSave: ["qa_outputs"])
        let adapted = try EncoderModel.load(
            modelDirectory: encoderDirectory, numLabels: 2, head: .questionAnswering, seed: 5, peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 23)
        for view in adapted.store.views where lora.isTrainable(view.name) {
            let p = adapted.store.value(view.name)
            for i in 0..<view.count { p[i] = (view.name.hasPrefix("qa_outputs") ? 1 : 0.3) * rng.nextNormal() }
        }
        let qaAdapter = directory.appendingPathComponent("qa-adapter")
        try PEFTAdapter.write(model: adapted, to: qaAdapter, baseModelName: encoderDirectory.path)
        let (_, port) = try await start(configuration { $0.adapters = [.init(name: "qa-lora", base: "encoder", directory: qaAdapter.path)] })
        let info = try HTTPTestClient.get(port: port, path: "/info")
        let served = try XCTUnwrap((info.json["models"] as? [[String: Any]])?.first { $0["name"] as? String == "qa-lora" })
        XCTAssertEqual(served["kind"] as? String, "question_answerer")

        let texts = Self.texts(6, seed: 4).map(\.0)
        var pairs: [(question: String, context: String)] = []
        for k in 0..<5 {
            let context: String = texts[k] + " " + texts[k + 1] + " the man finds a city ."
            pairs.append((question: "who finds the city ?", context: context))
        }
        let tokenizer = try BertTokenizer.load(modelDirectory: encoderDirectory)
        let expected = try AnswerPrediction.answer(
            pairs: pairs, model: adapted, tokenizer: tokenizer, maxLength: min(adapted.maxSequenceLength, 512),
            docStride: min(128, min(adapted.maxSequenceLength, 512) / 3), batchSize: 64)
        XCTAssertTrue(expected.contains { !$0.text.isEmpty }, "the comparison covers spans")
        let inputs: [[String]] = pairs.map { [$0.question, $0.context] }
        let response = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "qa-lora", "inputs": inputs])
        XCTAssertEqual(response.status, 200, response.text)
        let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.count, pairs.count)
        for (k, (got, want)) in zip(predictions, expected).enumerated() {
            XCTAssertEqual(got["answer"] as? String, want.text, "pair \(k)")
            XCTAssertEqual(got["start"] as? Int, want.start, "pair \(k)")
            XCTAssertEqual(got["end"] as? Int, want.end, "pair \(k)")
            XCTAssertEqual(try XCTUnwrap(got["score"] as? Double), want.score, accuracy: 1e-6, "pair \(k)")
        }
    }
}

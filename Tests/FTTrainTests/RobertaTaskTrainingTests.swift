import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// Token classification and QA *training* from a tokenizer.json-only byte-level BPE directory (the
/// tiny random RoBERTa of Tests/FTModelTests/Fixtures/roberta_tiny: no vocab.txt): an
/// `XLMRobertaForTokenClassification` (the same directory declared `xlm-roberta`) learns a
/// trivially learnable tagging and predicts entities as character spans of raw text; a
/// `RobertaForQuestionAnswering` trains, exports and answers spans of its contexts.
final class RobertaTaskTrainingTests: TaskTestCase {
    override class var directoryPrefix: String { "fttrain-roberta-task" }

    /// `directory/model`: roberta_tiny's files, its config.json rewritten for `modelType`.
    func copyModel(modelType: String, architecture: String) throws {
        let model = directory.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(
                at: RobertaTaskFixtureTests.robertaDirectory.appendingPathComponent(file), to: model.appendingPathComponent(file))
        }
        let source = RobertaTaskFixtureTests.robertaDirectory.appendingPathComponent("config.json")
        var config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        config["model_type"] = modelType
        config["architectures"] = [architecture]
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: model.appendingPathComponent("config.json"))
    }

    func nerData(rows: Int) throws -> String {
        var lines: [String] = []
        let people = ["Peter", "Anna"], places = ["Paris", "London"]
        for i in 0..<rows {
            let p = people[i % 2], l = places[(i / 2) % 2]
            let record: [String: Any] = ["tokens": [p, "lives", "in", l, "."], "tags": ["B-PER", "O", "O", "B-LOC", "O"]]
            lines.append(String(data: try JSONSerialization.data(withJSONObject: record), encoding: .utf8)!)
        }
        return try write("ner.jsonl", lines.joined(separator: "\n") + "\n")
    }

    func testXLMRobertaTokenClassificationTrainsAndPredictsSpans() throws {
        try copyModel(modelType: "xlm-roberta", architecture: "XLMRobertaForSequenceClassification")
        var c = configuration(task: .tokenClassification, "ner", train: try nerData(rows: 40))
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 1e-2
        c.numTrainEpochs = 3
        c.maxLength = 32
        try c.validate()
        try TrainingRun(configuration: c).run()
        let m = try metrics("ner")
        XCTAssertGreaterThan(try XCTUnwrap(m["test_f1"]), 0.9, "a trivially learnable tagging: \(m)")
        let records = try logRecords(directory.appendingPathComponent("ner")).train
        XCTAssertLessThan(try XCTUnwrap(records.last?[1]), try XCTUnwrap(records.first?[1]), "the loss falls")

        let exported = directory.appendingPathComponent("ner/model")
        XCTAssertTrue(FileManager.default.fileExists(atPath: exported.appendingPathComponent("tokenizer.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: exported.appendingPathComponent("vocab.txt").path))
        let labels = try XCTUnwrap(try HuggingFaceExport.labels(modelDirectory: exported))
        let model = try ModelRegistry.load(modelDirectory: exported, numLabels: labels.count)
        XCTAssertEqual(model.architectureName, "XLMRobertaForTokenClassification")
        let tokenizer = try EncoderTokenizers.load(modelDirectory: exported)
        let text = "Anna lives in London."
        let found = try EntityPrediction.predict(texts: [text], model: model, tokenizer: tokenizer, labels: labels, maxLength: 32, batchSize: 2)
        XCTAssertEqual(
            found[0],
            [PredictedEntity(type: "PER", start: 0, end: 4, text: "Anna"), PredictedEntity(type: "LOC", start: 14, end: 20, text: "London")])
    }

    static let names = ["ann", "bob", "eve"], cities = ["paris", "rome", "oslo"]

    func squadLines(rows: Int) throws -> String {
        var lines: [String] = []
        for k in 0..<rows {
            let a = k % 3, b = (k + 1) % 3, ca = (k / 3) % 3, cb = (ca + 1 + k % 2) % 3
            let filler = String(repeating: "the sun is hot . ", count: k % 3)
            let context = "\(filler)\(Self.names[a]) lives in \(Self.cities[ca]) . \(Self.names[b]) lives in \(Self.cities[cb]) ."
            let asked = k % 2 == 0 ? Self.names[a] : Self.names[b], city = k % 2 == 0 ? Self.cities[ca] : Self.cities[cb]
            let start = context.distance(from: context.startIndex, to: context.range(of: "\(asked) lives in ")!.upperBound)
            let row: [String: Any] = [
                "id": "q\(k)", "question": "where does \(asked) live ?", "context": context,
                "answers": ["text": [city], "answer_start": [start]],
            ]
            lines.append(String(data: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), encoding: .utf8)!)
        }
        return try write("qa.jsonl", lines.joined(separator: "\n") + "\n")
    }

    func testRobertaQuestionAnsweringTrainsAndAnswers() throws {
        try copyModel(modelType: "roberta", architecture: "RobertaForSequenceClassification")
        var c = configuration(task: .questionAnswering, "qa", train: try squadLines(rows: 30))
        c.maxLength = 32
        c.docStride = 8
        c.perDeviceTrainBatchSize = 8
        c.learningRate = 5e-3
        c.numTrainEpochs = 2
        try c.validate()
        try TrainingRun(configuration: c).run()
        let m = try metrics("qa")
        for key in ["test_exact_match", "test_f1", "eval_f1"] {
            let value = try XCTUnwrap(m[key], "\(key) in \(m.keys.sorted())")
            XCTAssertTrue((0...100).contains(value), "\(key) \(value)")
        }
        let records = try logRecords(directory.appendingPathComponent("qa")).train
        XCTAssertLessThan(try XCTUnwrap(records.last?[1]), try XCTUnwrap(records.first?[1]), "the loss falls")
        let exported = directory.appendingPathComponent("qa/model")
        let model = try ModelRegistry.load(
            modelDirectory: exported, numLabels: try XCTUnwrap(HuggingFaceExport.labels(modelDirectory: exported)).count)
        XCTAssertEqual(model.architectureName, "RobertaForQuestionAnswering")
        let tokenizer = try EncoderTokenizers.load(modelDirectory: exported)
        let context = "the sun is hot . the sun is hot . ann lives in oslo . bob lives in rome ."
        let answers = try AnswerPrediction.answer(
            pairs: [("where does ann live ?", context), ("where does bob live ?", context)], model: model, tokenizer: tokenizer,
            maxLength: 32, docStride: 8)
        XCTAssertEqual(answers.count, 2)
        for answer in answers {
            let start = try XCTUnwrap(answer.start), end = try XCTUnwrap(answer.end)
            XCTAssertEqual(String(String.UnicodeScalarView(Array(context.unicodeScalars)[start..<end])), answer.text)
            XCTAssertTrue((0...1).contains(answer.score))
        }
    }

    /// Multi-label classification (`problem_type` inferred from list labels) trains from the
    /// tokenizer.json-only directory and its exported model predicts label sets through the same tokenizer.
    func testRobertaMultiLabelTrainsAndPredicts() throws {
        try copyModel(modelType: "roberta", architecture: "RobertaForSequenceClassification")
        var lines: [String] = []
        for i in 0..<48 {
            let good = i % 2 == 0, plot = i / 2 % 2 == 0
            let text = (good ? "a great film" : "a dull film") + (plot ? " about a city" : "") + " \(i)"
            let tags = [good ? "\"pos\"" : "\"neg\""] + (plot ? ["\"plot\""] : [])
            lines.append(#"{"text": "\#(text)", "label": [\#(tags.joined(separator: ", "))]}"#)
        }
        var c = configuration(task: .sequenceClassification, "multi", train: try write("tags.jsonl", lines.joined(separator: "\n") + "\n"))
        c.perDeviceTrainBatchSize = 8
        c.learningRate = 1e-2
        c.numTrainEpochs = 3
        c.maxLength = 16
        try c.validate()
        try TrainingRun(configuration: c).run()
        let records = try logRecords(directory.appendingPathComponent("multi")).train
        XCTAssertLessThan(try XCTUnwrap(records.last?[1]), try XCTUnwrap(records.first?[1]), "the BCE loss falls")
        let exported = directory.appendingPathComponent("multi/model")
        XCTAssertEqual(ProblemType.of(modelDirectory: exported), .multiLabelClassification)
        let tokenizer = try EncoderTokenizers.load(modelDirectory: exported)
        XCTAssertTrue(tokenizer is RobertaTokenizer)
        let model = try ModelRegistry.load(modelDirectory: exported, numLabels: 3)
        let predicted = try MultiLabelPrediction.predict(
            texts: [("a great film about a city", nil), ("a dull film", nil)], model: model, tokenizer: tokenizer,
            labels: ["neg", "plot", "pos"], problemType: .multiLabelClassification, maxLength: 16, batchSize: 2)
        XCTAssertEqual(predicted.count, 2)
        for record in predicted {
            let labels = try XCTUnwrap(record["labels"] as? [[String: Any]])
            XCTAssertEqual(
                try XCTUnwrap(record["predicted"] as? [String]),
                labels.filter { ($0["probability"] as! Double) >= 0.5 }.map { $0["label"] as! String })
        }
    }
}

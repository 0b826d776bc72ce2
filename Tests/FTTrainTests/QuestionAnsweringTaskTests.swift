import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// Extractive QA end to end on a tiny random BERT: the SQuAD readers (nested JSON, flat JSON
/// Lines) and their errors, the split by context, training through `TrainingRun` (full and LoRA)
/// with SQuAD metrics, the exported `BertForQuestionAnswering` directory and answers from it.
final class QuestionAnsweringTaskTests: TaskTestCase {
    override class var directoryPrefix: String { "fttrain-qa" }
    static let names = ["ann", "bob", "cy", "dee", "eve"]
    static let cities = ["paris", "rome", "oslo", "lima", "kyiv"]

    func tokenizer() throws -> BertTokenizer {
        let model = directory.appendingPathComponent("model")
        try TinyModelDirectory.write(
            to: model, words: Self.names + Self.cities + ["lives", "in", "where", "does", "live", "?", ".", "and", "the", "sun", "is", "hot"])
        return try BertTokenizer.load(modelDirectory: model)
    }

    /// Synthetic SQuAD rows: "ann lives in paris . bob lives in rome ." — where does X live? Some
    /// contexts are padded with filler so they need several windows; every 7th is unanswerable.
    func squadLines(rows: Int, seed: UInt64 = 3) throws -> String {
        var rng = SeededRNG(seed: seed)
        var lines: [String] = []
        for k in 0..<rows {
            let a = Int(rng.next(upperBound: UInt64(5))), b = (a + 1 + Int(rng.next(upperBound: UInt64(4)))) % 5
            let ca = Int(rng.next(upperBound: UInt64(5))), cb = (ca + 1 + Int(rng.next(upperBound: UInt64(4)))) % 5
            let filler = String(repeating: "the sun is hot . ", count: Int(rng.next(upperBound: UInt64(4))))
            let context = "\(filler)\(Self.names[a]) lives in \(Self.cities[ca]) . \(Self.names[b]) lives in \(Self.cities[cb]) ."
            let unanswerable = k % 7 == 6
            let asked = unanswerable ? Self.names[(b + 1 + (a == (b + 1) % 5 ? 1 : 0)) % 5] : (k % 2 == 0 ? Self.names[a] : Self.names[b])
            let city = k % 2 == 0 ? Self.cities[ca] : Self.cities[cb]
            let marker = "\(asked) lives in "
            let start = unanswerable ? 0 : context.distance(from: context.startIndex, to: context.range(of: marker)!.upperBound)
            let answers: [String: Any] = unanswerable ? ["text": [], "answer_start": []] : ["text": [city], "answer_start": [start]]
            let row: [String: Any] = ["id": "q\(k)", "question": "where does \(asked) live ?", "context": context, "answers": answers]
            lines.append(String(data: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), encoding: .utf8)!)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func testReadsNestedJSONAndJSONLines() throws {
        let nested = """
            {"version": "v2.0", "data": [{"title": "T", "paragraphs": [
              {"context": "Ann lives in Paris.", "qas": [
                {"id": "a", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 13}], "is_impossible": false},
                {"id": "b", "question": "Who is Bob?", "answers": [], "is_impossible": true}]},
              {"context": "北京很大", "qas": [{"id": "c", "question": "哪里?", "answers": [{"text": "北京", "answer_start": 0}]}]}]}]}
            """
        let examples = try SquadData.read(try write("squad.json", nested))
        XCTAssertEqual(examples.map(\.id), ["a", "b", "c"])
        XCTAssertEqual(examples[0].answerStarts, [13])
        XCTAssertFalse(examples[1].isAnswerable)
        XCTAssertEqual(examples[2].answerTexts, ["北京"])
        XCTAssertEqual(SquadData.misplacedAnswers(examples), 0)

        let lines = try SquadData.read(try write("rows.jsonl", try squadLines(rows: 8)))
        XCTAssertEqual(lines.count, 8)
        XCTAssertEqual(SquadData.misplacedAnswers(lines), 0, "the generator places its answers")
        XCTAssertEqual(lines.filter { !$0.isAnswerable }.count, 1)

        let bad = try write(
            "bad.jsonl",
            "{\"id\": \"x\", \"question\": \"q\"}\nnot json\n{\"id\": \"y\", \"question\": \"q\", \"context\": \"ab\", \"answers\": {\"text\": [\"abc\"], \"answer_start\": [1]}}\n"
        )
        let text = message { _ = try SquadData.read(bad) }
        XCTAssertTrue(text.contains("bad.jsonl:1") && text.contains("missing \"context\""), text)
        XCTAssertTrue(text.contains("bad.jsonl:2") && text.contains("not a JSON object"), text)
        XCTAssertTrue(text.contains("bad.jsonl:3") && text.contains("runs past the context"), text)
        XCTAssertTrue(message { _ = try SquadData.read(try write("list.json", "[1, 2]")) }.contains("not a SQuAD JSON document"))
    }

    func testWindowsTargetsAndSplitByContext() throws {
        let tokenizer = try tokenizer()
        var options = QuestionAnsweringTask.Options()
        options.maxLength = 24
        options.docStride = 6
        let task = try QuestionAnsweringTask(trainPath: try write("qa.jsonl", try squadLines(rows: 40)), options: options, tokenizer: tokenizer)
        XCTAssertGreaterThan(task.train.count, task.splits[0].examples.count, "long contexts take several windows")
        for split in task.splits {
            for (f, feature) in split.features.enumerated() {
                XCTAssertLessThanOrEqual(feature.encoding.count, 24)
                let targets = task.splits.firstIndex { $0.name == split.name }.map { [task.train, task.validation, task.test][$0].tokenLabels[f] }
                XCTAssertEqual(targets, feature.targets)
                XCTAssertEqual(feature.targets.filter { $0 & QuestionAnsweringObjective.startBit != 0 }.count, 1)
                let example = split.examples[feature.example]
                if feature.startPosition > 0, let a = feature.offsets[feature.startPosition], let b = feature.offsets[feature.endPosition] {
                    let scalars = Array(example.context.unicodeScalars)
                    XCTAssertEqual(String(String.UnicodeScalarView(scalars[a.lowerBound..<b.upperBound])), example.answerTexts[0])
                }
            }
        }
        let contexts = task.splits.map { Set($0.examples.map(\.context)) }
        XCTAssertTrue(contexts[0].isDisjoint(with: contexts[1]) && contexts[0].isDisjoint(with: contexts[2]), "no context in two splits")
        options.maxLength = 8
        XCTAssertTrue(
            message {
                _ = try QuestionAnsweringTask(trainPath: try write("q2.jsonl", try squadLines(rows: 4)), options: options, tokenizer: tokenizer)
            }
            .contains("leaves no room for the context"))
    }

    func configuration(_ name: String, train: String) -> TrainingConfiguration {
        var c = configuration(task: .questionAnswering, name, train: train)
        c.maxLength = 32
        c.docStride = 8
        c.versionTwoWithNegative = true
        c.perDeviceTrainBatchSize = 8
        c.learningRate = 5e-3
        c.numTrainEpochs = 2
        return c
    }

    func testTrainsEvaluatesAndExports() throws {
        _ = try tokenizer()
        let c = configuration("full", train: try write("qa.jsonl", try squadLines(rows: 40)))
        try c.validate()
        try TrainingRun(configuration: c).run()
        let m = try metrics("full")
        for key in ["test_exact_match", "test_f1", "eval_f1", "test_HasAns_f1"] {
            let value = try XCTUnwrap(m[key], "\(key) in \(m.keys.sorted())")
            XCTAssertTrue((0...100).contains(value), "\(key) \(value)")
        }
        let records = try logRecords(directory.appendingPathComponent("full")).train
        XCTAssertLessThan(try XCTUnwrap(records.last?[1]), try XCTUnwrap(records.first?[1]), "the loss falls")

        let exported = directory.appendingPathComponent("full/model")
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: exported.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["architectures"] as? [String], ["BertForQuestionAnswering"])
        let weights = try SafeTensorsFile(path: exported.appendingPathComponent("model.safetensors").path)
        XCTAssertNil(weights.info("bert.pooler.dense.weight"), "BertForQuestionAnswering has no pooler")
        XCTAssertEqual(weights.info("qa_outputs.weight")?.shape, [2, 32])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("full/data/validation.jsonl").path))

        // The exported model answers spans of its contexts.
        let model = try ModelRegistry.load(
            modelDirectory: exported, numLabels: try XCTUnwrap(HuggingFaceExport.labels(modelDirectory: exported)).count)
        XCTAssertEqual(model.architectureName, "BertForQuestionAnswering")
        let tokenizer = try BertTokenizer.load(modelDirectory: exported)
        let context = "the sun is hot . the sun is hot . ann lives in oslo . bob lives in rome ."
        let answers = try AnswerPrediction.answer(
            pairs: [("where does ann live ?", context), ("where does bob live ?", context)], model: model, tokenizer: tokenizer,
            maxLength: 32, docStride: 8)
        for answer in answers {
            guard let start = answer.start, let end = answer.end else { continue }
            XCTAssertEqual(String(String.UnicodeScalarView(Array(context.unicodeScalars)[start..<end])), answer.text)
            XCTAssertTrue((0...1).contains(answer.score))
        }
    }

    func testLoRASavesTheQAHeadAsPEFTDoes() throws {
        _ = try tokenizer()
        var c = configuration("lora", train: try write("qa.jsonl", try squadLines(rows: 30)))
        c.peft = .lora
        c.loraR = 4
        c.numTrainEpochs = 1
        try c.validate()
        try TrainingRun(configuration: c).run()
        let adapter = directory.appendingPathComponent("lora/adapter")
        let object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: adapter.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(object["task_type"] as? String, "QUESTION_ANS")
        XCTAssertEqual(object["modules_to_save"] as? [String], ["qa_outputs"])
        let read = try PEFTAdapter.read(directory: adapter)
        XCTAssertTrue(read.tensors.contains { $0.name.contains("qa_outputs") }, "the new head is saved with the adapter")
        let merged = try ModelRegistry.load(modelDirectory: directory.appendingPathComponent("lora/model"), numLabels: 2)
        XCTAssertEqual(merged.architectureName, "BertForQuestionAnswering", "model/ is the merged QA model")
    }
}

import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// Token classification end to end on a tiny random BERT: the CoNLL and JSONL readers and their
/// errors, sub-token label alignment (first sub-token, or all with B→I), training through
/// `TrainingRun` (full, LoRA, two ranks against one process) and the exported directory.
final class TokenClassificationTaskTests: TaskTestCase {
    override class var directoryPrefix: String { "fttrain-ner" }

    func testReadsCoNLLAndJSONLines() throws {
        let conll = try write("a.conll", "-DOCSTART- O\n\n张 B-PER\n三 I-PER\n在 O\n\n北 B-LOC\t\n京\tI-LOC\n")
        // A tab after the tag is whitespace; the tag is the last field.
        let sentences = try TaggedSentences.read(conll, scheme: .bio)
        XCTAssertEqual(sentences.map(\.tokens), [["张", "三", "在"], ["北", "京"]])
        XCTAssertEqual(sentences.map(\.tags), [["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC"]])
        XCTAssertEqual(sentences.map(\.location.line), [3, 7])
        let jsonl = try write(
            "a.jsonl", "{\"tokens\": [\"Ann\", \"left\"], \"tags\": [\"S-PER\", \"O\"]}\n\n{\"tokens\": [\"x\"], \"tags\": [\"O\"]}\n")
        XCTAssertEqual(try TaggedSentences.read(jsonl, scheme: .bioes).map(\.location.line), [1, 3])
    }

    func testBadLinesAndTagsNameFileAndLine() throws {
        let malformed = try write("bad.conll", "张 B-PER\n三\n")
        XCTAssertTrue(message { _ = try TaggedSentences.read(malformed, scheme: .bio) }.contains("bad.conll:2: expected a token and its tag"))
        let scheme = try write("scheme.conll", "a O\nb E-PER\n")
        XCTAssertTrue(message { _ = try TaggedSentences.read(scheme, scheme: .bio) }.contains("scheme.conll:2: tag \"E-PER\" has prefix E-"))
        let garbage = try write("g.conll", "a O\nb PER\n")
        XCTAssertTrue(message { _ = try TaggedSentences.read(garbage, scheme: .bio) }.contains("g.conll:2: tag \"PER\" is not O nor PREFIX-TYPE"))
        let lengths = try write("l.jsonl", "{\"tokens\": [\"a\"], \"tags\": [\"O\"]}\n{\"tokens\": [\"a\", \"b\"], \"tags\": [\"O\"]}\n")
        XCTAssertTrue(message { _ = try TaggedSentences.read(lengths, scheme: .bio) }.contains("l.jsonl:2: 2 tokens but 1 tags"))
        let notJSON = try write("n.jsonl", "{\"tokens\": [\"a\"], \"tags\": [\"O\"]}\n[1]\n")
        XCTAssertTrue(message { _ = try TaggedSentences.read(notJSON, scheme: .bio) }.contains("n.jsonl:2: not a JSON object"))
    }

    func tokenizer() throws -> BertTokenizer {
        let model = directory.appendingPathComponent("model")
        try TinyModelDirectory.write(to: model, words: ["张", "北", "京", "在", "run", "##ning", "ann"])
        return try BertTokenizer.load(modelDirectory: model)
    }

    func testLabelsGoOnTheFirstSubTokenOrOnAll() throws {
        let tokenizer = try tokenizer()
        let train = try write("t.jsonl", "{\"tokens\": [\"Ann\", \"running\", \"北\"], \"tags\": [\"B-PER\", \"B-PER\", \"B-LOC\"]}\n")
        let extra = try write("v.jsonl", "{\"tokens\": [\"Ann\"], \"tags\": [\"I-PER\"]}\n")
        var options = TokenClassificationTask.Options()
        options.validationPath = extra
        options.testPath = extra
        let words = tokenizer.encodeWords(["Ann", "running", "北"])
        XCTAssertEqual(words.wordIds, [nil, 0, 1, 1, 2, nil])
        // I-PER is not a training tag: the validation file is refused by line.
        XCTAssertTrue(
            message { _ = try TokenClassificationTask(trainPath: train, options: options, tokenizer: tokenizer) }.contains(
                "v.jsonl:1: tag \"I-PER\" never occurs"))
        let withI = try write(
            "t2.jsonl",
            "{\"tokens\": [\"Ann\", \"running\", \"北\"], \"tags\": [\"B-PER\", \"B-PER\", \"B-LOC\"]}\n{\"tokens\": [\"Ann\"], \"tags\": [\"I-PER\"]}\n"
        )
        let first = try TokenClassificationTask(trainPath: withI, options: options, tokenizer: tokenizer)
        XCTAssertEqual(first.labels, ["B-LOC", "B-PER", "I-PER"])
        XCTAssertEqual(first.train.tokenLabels[0], [-100, 1, 1, -100, 0, -100])
        options.labelAllTokens = true
        let all = try TokenClassificationTask(trainPath: withI, options: options, tokenizer: tokenizer)
        XCTAssertEqual(all.train.tokenLabels[0], [-100, 1, 1, 2, 0, -100], "the second piece of a B-PER word is I-PER")
        options.maxLength = 4
        let short = try TokenClassificationTask(trainPath: withI, options: options, tokenizer: tokenizer)
        XCTAssertEqual(short.train.encodings[0].count, 4)
        XCTAssertEqual(short.train.tokenLabels[0], [-100, 1, 1, -100])
    }

    func testWordSpansCarryCharacterOffsets() throws {
        let tokenizer = try tokenizer()
        let spans = tokenizer.wordSpans(of: "张三在北京, Ann running")
        XCTAssertEqual(spans.map(\.text), ["张", "三", "在", "北", "京", ",", "Ann", "running"])
        XCTAssertEqual(spans.map(\.start), [0, 1, 2, 3, 4, 5, 7, 11])
        XCTAssertEqual(spans.last?.end, 18)
    }

    /// NER data the tiny model can learn: PER words, LOC words, O words.
    func nerData(rows: Int) throws -> String {
        var lines: [String] = []
        let people = ["张", "ann"], places = ["北", "京"]
        for i in 0..<rows {
            let p = people[i % 2], l = places[(i / 2) % 2]
            let record: [String: Any] = ["tokens": [p, "在", l, "run"], "tags": ["B-PER", "O", "B-LOC", "O"]]
            lines.append(String(data: try JSONSerialization.data(withJSONObject: record), encoding: .utf8)!)
        }
        return try write("ner.jsonl", lines.joined(separator: "\n") + "\n")
    }

    func configuration(_ name: String, train: String) -> TrainingConfiguration {
        var c = configuration(task: .tokenClassification, name, train: train)
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 5e-3
        c.numTrainEpochs = 3
        return c
    }

    func testTrainsEvaluatesAndExports() throws {
        _ = try tokenizer()
        let c = configuration("full", train: try nerData(rows: 40))
        try c.validate()
        try TrainingRun(configuration: c).run()
        let m = try metrics("full")
        XCTAssertEqual(try XCTUnwrap(m["test_f1"]), 1, accuracy: 1e-9, "a trivially learnable tagging: \(m)")
        XCTAssertNotNil(m["eval_f1_PER"])
        XCTAssertNotNil(m["test_accuracy"])
        let records = try logRecords(directory.appendingPathComponent("full")).train
        XCTAssertLessThan(try XCTUnwrap(records.last?[1]), try XCTUnwrap(records.first?[1]), "the loss falls")
        let exported = directory.appendingPathComponent("full/model")
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: exported.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["architectures"] as? [String], ["BertForTokenClassification"])
        XCTAssertEqual((config["id2label"] as? [String: String])?["0"], "B-LOC")
        let reloaded = try ModelRegistry.load(modelDirectory: exported, numLabels: 3)
        XCTAssertEqual(reloaded.architectureName, "BertForTokenClassification")
        let weights = try SafeTensorsFile(path: exported.appendingPathComponent("model.safetensors").path)
        XCTAssertNil(weights.info("bert.pooler.dense.weight"), "BertForTokenClassification has no pooler")
        XCTAssertNotNil(weights.info("classifier.weight"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("full/data/test.jsonl").path))

        // predict: entities of raw text as spans of characters.
        let tokenizer = try BertTokenizer.load(modelDirectory: exported)
        let labels = try XCTUnwrap(try HuggingFaceExport.labels(modelDirectory: exported))
        let found = try EntityPrediction.predict(
            texts: ["张在北 run", "ann 在 京 run"], model: reloaded, tokenizer: tokenizer, labels: labels, maxLength: 32, batchSize: 2)
        XCTAssertEqual(
            found[0], [PredictedEntity(type: "PER", start: 0, end: 1, text: "张"), PredictedEntity(type: "LOC", start: 2, end: 3, text: "北")])
        XCTAssertEqual(found[1].map(\.text), ["ann", "京"])
        XCTAssertEqual(found[1].map(\.start), [0, 6])
        XCTAssertEqual(found[1].map(\.end), [3, 7])
    }

    func testLoRA() throws {
        _ = try tokenizer()
        var c = configuration("lora", train: try nerData(rows: 40))
        c.peft = .lora
        c.loraR = 4
        c.learningRate = 2e-2
        try c.validate()
        try TrainingRun(configuration: c).run()
        let adapter = directory.appendingPathComponent("lora/adapter")
        let object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: adapter.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(object["task_type"] as? String, "TOKEN_CLS")
        let read = try PEFTAdapter.read(directory: adapter)
        XCTAssertTrue(read.tensors.contains { $0.name.contains("classifier") }, "the new head is saved with the adapter")
        let merged = try ModelRegistry.load(modelDirectory: directory.appendingPathComponent("lora/model"), numLabels: 3)
        XCTAssertEqual(merged.architectureName, "BertForTokenClassification", "model/ is the merged token classifier")
        let m = try metrics("lora")
        XCTAssertGreaterThan(try XCTUnwrap(m["test_f1"]), 0.5, "\(m)")
    }

    /// 2 ranks × batch 2 against 1 process × batch 4: the same losses and gradient norms (dropout off).
    func testTwoRanksTrainLikeOneProcess() throws {
        _ = try tokenizer()
        let train = try nerData(rows: 24)
        func settings(_ name: String, batch: Int) -> TrainingConfiguration {
            var c = configuration(name, train: train)
            c.perDeviceTrainBatchSize = batch
            c.hiddenDropoutProb = 0
            c.attentionProbsDropoutProb = 0
            c.classifierDropout = 0
            c.numTrainEpochs = 1
            return c
        }
        try TrainingRun(configuration: settings("one", batch: 4)).run()
        let two = settings("two", batch: 2)
        _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: two, world: world).run() }
        let a = try logRecords(directory.appendingPathComponent("one")).train, b = try logRecords(directory.appendingPathComponent("two")).train
        XCTAssertGreaterThan(a.count, 3)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            for k in 1...3 { XCTAssertEqual(y[k], x[k], accuracy: 1e-5 * max(abs(x[k]), 1e-3), "step \(x[0]) column \(k)") }
        }
        XCTAssertEqual(try metrics("one")["test_f1"], try metrics("two")["test_f1"])
    }

    /// Stopped at step 5 and resumed from its checkpoint, a token-classification run continues bit
    /// for bit as the uninterrupted one (losses, gradient norms, learning rates, final weights).
    func testStoppedAndResumedRunIsBitwiseTheUninterruptedOne() throws {
        _ = try tokenizer()
        let train = try nerData(rows: 40)
        func settings(_ name: String) -> TrainingConfiguration {
            var c = configuration(name, train: train)
            c.numTrainEpochs = 2
            c.saveStrategy = .steps
            c.saveSteps = 4
            return c
        }
        try TrainingRun(configuration: settings("whole")).run()
        let split = settings("split")
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(5).callAsFunction
        XCTAssertThrowsError(try first.run())
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()
        let a = try logRecords(directory.appendingPathComponent("whole")), b = try logRecords(directory.appendingPathComponent("split"))
        XCTAssertGreaterThan(a.train.count, 5)
        XCTAssertEqual(a.train, b.train, "loss, grad_norm and learning_rate of every step")
        let weights = { (name: String) throws -> Data in
            try Data(contentsOf: self.directory.appendingPathComponent(name).appendingPathComponent("model/model.safetensors"))
        }
        XCTAssertEqual(try weights("whole"), try weights("split"), "final parameters")
    }
}

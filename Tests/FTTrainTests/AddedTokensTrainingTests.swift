import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// `add_tokens` through `TrainingRun` on a tiny random BERT: the tokens join the vocabulary
/// after it, the embedding matrix grows, the new rows train, and the exported directory carries
/// the resized matrix, `vocab_size` and the tokenizer files with the added tokens — so fttrain
/// (and transformers: scripts/reference/check_added_tokens_export.py) loads it with the same ids,
/// and `predict` finds an entity that is one added token with its characters' offsets.
final class AddedTokensTrainingTests: XCTestCase {
    var directory: URL!
    static let words = ["张", "北", "京", "上", "海", "在", "run", "ann"]

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-added-\(UUID().uuidString)")
        try TinyModelDirectory.write(to: directory.appendingPathComponent("model"), words: Self.words)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Sentences whose place is the new word 北京 or 上海 (one word each), or an old character.
    func data(rows: Int) throws -> String {
        var lines: [String] = []
        let people = ["张", "Ann"], places = ["北京", "上海", "京"]
        for i in 0..<rows {
            let record: [String: Any] = ["tokens": [people[i % 2], "在", places[i % 3], "run"], "tags": ["B-PER", "O", "B-LOC", "O"]]
            lines.append(String(data: try JSONSerialization.data(withJSONObject: record), encoding: .utf8)!)
        }
        let url = directory.appendingPathComponent("ner.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func configuration(_ name: String, tokens: AddedTokenSetting?) throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.task = .tokenClassification
        c.modelDir = directory.appendingPathComponent("model").path
        c.trainFile = try data(rows: 36)
        c.outputDir = directory.appendingPathComponent(name).path
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 5e-3
        c.numTrainEpochs = 3
        c.saveStrategy = .no
        c.evalStrategy = .epoch
        c.addTokens = tokens
        return c
    }

    func testAddedTokensTrainExportAndReload() throws {
        let base = try BertTokenizer.load(modelDirectory: directory.appendingPathComponent("model"))
        let V = base.vocabularySize
        XCTAssertEqual(base.encode("北京").inputIds.count, 4, "two characters before")
        let c = try configuration("run", tokens: .tokens(["北京", "上海", "ann"]))
        try c.validate()
        try TrainingRun(configuration: c).run()
        let output = directory.appendingPathComponent("run")
        let addedJSON =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: output.appendingPathComponent("base_model/added_tokens.json"))) as? [String: Int]
        XCTAssertEqual(addedJSON, ["北京": V, "上海": V + 1], "\"ann\" is in the vocabulary: no new id")

        let exported = output.appendingPathComponent("model")
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: exported.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["vocab_size"] as? Int, V + 2)
        let weights = try SafeTensorsFile(path: exported.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(weights.info("bert.embeddings.word_embeddings.weight")?.shape, [V + 2, 32])
        for file in ["tokenizer_config.json", "added_tokens.json", "vocab.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: exported.appendingPathComponent(file).path), file)
        }
        let tokenizer = try BertTokenizer.load(modelDirectory: exported)
        XCTAssertEqual(tokenizer.vocabularySize, V + 2)
        XCTAssertEqual(tokenizer.encode("张在北京").inputIds, [base.clsTokenId] + base.convertTokensToIds(["张", "在"]) + [Int32(V), base.sepTokenId])

        // The new rows trained away from their start (the mean of the old rows), differently.
        let embeddings = try weights.floats("bert.embeddings.word_embeddings.weight")
        let C = 32
        var mean = [Double](repeating: 0, count: C)
        let pretrained = try SafeTensorsFile(path: directory.appendingPathComponent("model/model.safetensors").path)
        let old = try pretrained.floats(pretrained.tensors.first { $0.name.hasSuffix("word_embeddings.weight") }!.name)
        for r in 0..<V { for k in 0..<C { mean[k] += Double(old[r * C + k]) / Double(V) } }
        let row1 = Array(embeddings[(V * C)..<((V + 1) * C)]), row2 = Array(embeddings[((V + 1) * C)...])
        XCTAssertGreaterThan(zip(row1, mean).map { abs(Double($0) - $1) }.max()!, 1e-4, "北京's row trained")
        XCTAssertNotEqual(row1, row2)

        // predict on raw text: 北京 is one word, one token, one entity of two characters.
        let model = try ModelRegistry.load(modelDirectory: exported, numLabels: 3)
        let labels = try XCTUnwrap(try HuggingFaceExport.labels(modelDirectory: exported))
        let found = try EntityPrediction.predict(
            texts: ["张在北京 run"], model: model, tokenizer: tokenizer, labels: labels, maxLength: 32, batchSize: 1)
        XCTAssertEqual(found[0].last, PredictedEntity(type: "LOC", start: 2, end: 4, text: "北京"))
    }

    /// Stopped at step 5 and resumed from its checkpoint (whose matrix is the resized one), a run
    /// with added tokens ends bit for bit as the uninterrupted one.
    func testResumeWithAddedTokensIsBitwise() throws {
        func settings(_ name: String) throws -> TrainingConfiguration {
            var c = try configuration(name, tokens: .tokens(["北京", "上海"]))
            c.numTrainEpochs = 1
            c.loggingSteps = 1
            c.saveStrategy = .steps
            c.saveSteps = 4
            return c
        }
        try TrainingRun(configuration: try settings("whole")).run()
        let split = try settings("split")
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

    func testBadSettingsFailNamingAddTokens() throws {
        func message(_ c: TrainingConfiguration) -> String {
            do {
                try TrainingRun(configuration: c).run()
                return "no error"
            } catch { return "\(error)" }
        }
        let twice = try configuration("twice", tokens: .tokens(["北京", "北京"]))
        XCTAssertTrue(message(twice).contains("\"北京\" is listed twice"), message(twice))
        let empty = try configuration("empty", tokens: .tokens(["北京", ""]))
        XCTAssertTrue(message(empty).contains("token 2 is empty"), message(empty))
        let missing = try configuration("missing", tokens: .file(directory.appendingPathComponent("none.txt").path))
        XCTAssertTrue(message(missing).contains("none.txt"), message(missing))
        // A file of tokens works as the list does.
        let file = directory.appendingPathComponent("tokens.txt")
        try "北京\n上海\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(AddedTokenSetting(flagText: file.path), .file(file.path))
        XCTAssertEqual(AddedTokenSetting(flagText: "北京,上海"), .tokens(["北京", "上海"]))
        XCTAssertEqual(try AddedTokenSetting.file(file.path).resolve(), ["北京", "上海"])
    }
}

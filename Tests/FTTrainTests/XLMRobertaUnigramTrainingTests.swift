import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// An `xlm-roberta` model directory whose `tokenizer.json` is a Unigram (SentencePiece) model —
/// Tests/FTModelTests/Fixtures/xlmr_tiny, a tiny random `XLMRobertaForSequenceClassification`
/// beside a `sentencepiece`-trained tokenizer (scripts/reference/make_unigram_reference.py) —
/// trains sequence classification through `TrainingRun`: the tokenizer is the Unigram one, the
/// loss falls, and the exported directory carries the same tokenizer.json, which loads back.
final class XLMRobertaUnigramTrainingTests: XCTestCase {
    var directory: URL!

    static var modelDirectory: URL {
        TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/xlmr_tiny")
    }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-xlmr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testXLMRobertaDirectoryWithUnigramTokenizerTrains() throws {
        let tokenizer = try XCTUnwrap(try EncoderTokenizers.load(modelDirectory: Self.modelDirectory) as? UnigramTokenizer)
        XCTAssertEqual(tokenizer.encode("这部电影很好看").inputIds.first, 0)

        // Three labels told apart by their words, in English and Chinese.
        let texts = [
            ("a wonderful, moving film", "pos"), ("这部电影很好看", "pos"), ("great acting and a fine story", "pos"),
            ("a dull and boring mess", "neg"), ("太无聊了，不好看", "neg"), ("bad writing, worse acting", "neg"),
            ("the film opens on friday", "neu"), ("电影在北京上映", "neu"), ("it runs two hours", "neu"),
        ]
        var lines = ["text,label"]
        for r in 0..<4 { for (t, l) in texts { lines.append("\"\(t)\(r == 0 ? "" : " " + String(repeating: "!", count: r))\",\(l)") } }
        let train = directory.appendingPathComponent("train.csv")
        try (lines.joined(separator: "\n") + "\n").write(to: train, atomically: true, encoding: .utf8)

        var c = TrainingConfiguration()
        c.modelDir = Self.modelDirectory.path
        c.trainFile = train.path
        c.outputDir = directory.appendingPathComponent("run").path
        c.perDeviceTrainBatchSize = 6
        c.learningRate = 1e-2
        c.numTrainEpochs = 15
        c.maxLength = 24
        c.saveStrategy = .no
        c.evalStrategy = .no
        c.loggingSteps = 1
        try c.validate()
        try TrainingRun(configuration: c).run()

        let output = directory.appendingPathComponent("run")
        let losses = try logRecords(output).train.map { $0[1] }
        XCTAssertGreaterThanOrEqual(losses.count, 60)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, first * 0.7, "the loss falls: \(losses)")

        let exported = output.appendingPathComponent("model")
        XCTAssertEqual(
            try Data(contentsOf: exported.appendingPathComponent("tokenizer.json")),
            try Data(contentsOf: Self.modelDirectory.appendingPathComponent("tokenizer.json")))
        let reloaded = try XCTUnwrap(try EncoderTokenizers.load(modelDirectory: exported) as? UnigramTokenizer)
        XCTAssertEqual(reloaded.encode("电影在北京上映", pair: "it runs").inputIds, tokenizer.encode("电影在北京上映", pair: "it runs").inputIds)
        let model = try XCTUnwrap(try ModelRegistry.load(modelDirectory: exported, numLabels: 3) as? EncoderModel)
        XCTAssertEqual(model.family, .xlmRoBERTa)
    }
}

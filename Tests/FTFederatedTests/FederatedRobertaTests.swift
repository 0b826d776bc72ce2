import FTCore
@testable import FTFederated
import FTModel
import FTTrain
import Foundation
import TestSupport
import XCTest

/// The federation's task on a byte-level BPE RoBERTa directory without vocab.txt
/// (Tests/FTModelTests/Fixtures/roberta_tiny): `FederatedTask` loads its tokenizer.json through
/// `EncoderTokenizers.load`, encodes a site's tagged sentences as `fttrain train` does
/// (`<s>` … `</s>`, labels on first sub-tokens in the federation's order) and evaluates its LoRA
/// token classifier.
final class FederatedRobertaTests: XCTestCase {
    func testTokenClassificationTaskReadsAndEvaluatesRoberta() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("federated-roberta-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/roberta_tiny")
        let conll = directory.appendingPathComponent("site.conll")
        try "Peter B-PER\nBlackburn I-PER\nlives O\nin O\nLondon B-LOC\n\nAnna B-PER\nmoved O\nto O\nSão B-LOC\nPaulo I-LOC\n"
            .write(to: conll, atomically: true, encoding: .utf8)
        var c = TrainingConfiguration()
        c.task = .tokenClassification
        c.modelDir = model.path
        c.peft = .lora
        c.loraR = 4
        c.maxLength = 32
        let labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
        let task = try FederatedTask(configuration: c, labels: labels)
        XCTAssertEqual(task.model.architectureName, "RobertaForTokenClassification")
        XCTAssertEqual(task.padTokenId, 1)
        let dataset = try task.read(conll.path).dataset
        XCTAssertEqual(dataset.count, 2)
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model)
        let sentences = try TaggedSentences.read(conll.path, scheme: .bio)
        var options = TokenClassificationTask.Options()
        options.maxLength = 32
        var counts = TokenClassificationTask.EncodingCounts()
        let expected = TokenClassificationTask.encode(sentences, labels: labels, tokenizer: tokenizer, options: options, counts: &counts)
        XCTAssertEqual(dataset.encodings, expected.encodings)
        XCTAssertEqual(dataset.tokenLabels, expected.tokenLabels)
        XCTAssertEqual(dataset.encodings[0].inputIds.first, 0, "<s>")
        XCTAssertEqual(dataset.encodings[0].inputIds.last, 2, "</s>")
        XCTAssertEqual(dataset.tokenLabels[0].filter { $0 != -100 }, [1, 2, 0, 0, 3], "one label per word, the federation's ids")
        let metrics = try task.evaluate(task.read(conll.path), prefix: "eval_")
        XCTAssertTrue(try XCTUnwrap(metrics["eval_loss"]).isFinite)
    }
}

import FTCore
import FTModel
import Foundation
import SwiftProtobuf
import TestSupport
import XCTest

@testable import FTTrain

/// Issue 22: `ONNXExport` of the per-token heads, parsed back — a `BertForQuestionAnswering`
/// exports optimum's `start_logits` and `end_logits (batch, sequence)` from `qa_outputs`, a
/// `BertForTokenClassification` `logits (batch, sequence, labels)` without a pooler, each chosen
/// from `architectures`; a task that does not fit the head is refused by name. ONNX Runtime's
/// numbers against fttrain's: scripts/onnx_check.sh (bert-qa, bert-token).
final class ONNXPerTokenHeadExportTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-heads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func headDirectory(_ head: EncoderHead, labels: [String]) throws -> URL {
        let base = directory.appendingPathComponent("base")
        if !FileManager.default.fileExists(atPath: base.path) { try TinyModelDirectory.write(to: base, words: ["good", "bad", "film"]) }
        let model = try ModelRegistry.load(modelDirectory: base, numLabels: labels.count, head: head, seed: 7)
        let out = directory.appendingPathComponent(head.rawValue)
        try HuggingFaceExport.write(model: model, labels: labels, baseModelDirectory: base, to: out)
        return out
    }

    func dimensions(_ info: Onnx_ValueInfoProto) -> [String] {
        info.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? String($0.dimValue) : $0.dimParam }
    }

    func testQuestionAnsweringExportsStartAndEndLogits() throws {
        let source = try headDirectory(.questionAnswering, labels: ["start", "end"])
        let output = directory.appendingPathComponent("qa.onnx")
        XCTAssertEqual(try ONNXExport.write(modelDirectory: source, to: output).task, .questionAnswering)
        let graph = try Onnx_ModelProto(serializedBytes: Data(contentsOf: output)).graph
        XCTAssertEqual(graph.output.map(\.name), ["start_logits", "end_logits"])
        XCTAssertEqual(graph.output.map(dimensions), [["batch", "sequence"], ["batch", "sequence"]])
        XCTAssertEqual(graph.initializer.first { $0.name == "qa_outputs.weight" }?.dims, [32, 2])  // transposed for MatMul
        XCTAssertNil(graph.initializer.first { $0.name.hasPrefix("pooler") || $0.name.hasPrefix("classifier") })

        let refused = directory.appendingPathComponent("refused.onnx")
        XCTAssertThrowsError(try ONNXExport.write(modelDirectory: source, task: .textClassification, to: refused)) { error in
            XCTAssertTrue("\(error)".contains("--task text-classification does not fit BertForQuestionAnswering"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused.path))
    }

    func testTokenClassifierExportsPerTokenLogits() throws {
        let source = try headDirectory(.tokenClassification, labels: ["O", "B-PER", "I-PER"])
        let output = directory.appendingPathComponent("ner.onnx")
        XCTAssertEqual(try ONNXExport.write(modelDirectory: source, to: output).task, .tokenClassification)
        let graph = try Onnx_ModelProto(serializedBytes: Data(contentsOf: output)).graph
        XCTAssertEqual(graph.output.map(\.name), ["logits"])
        XCTAssertEqual(dimensions(graph.output[0]), ["batch", "sequence", "3"])
        XCTAssertNil(graph.initializer.first { $0.name.hasPrefix("pooler") })
    }
}

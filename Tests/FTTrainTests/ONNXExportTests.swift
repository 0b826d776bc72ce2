import FTCore
import FTModel
import Foundation
import SwiftProtobuf
import TestSupport
import XCTest

@testable import FTTrain

/// The structure of `ONNXExport`'s files, parsed back with swift-protobuf: opset and IR version,
/// optimum's input names with dynamic `batch`/`sequence` axes, the output of each task, every
/// initializer's name, shape and values (linear weights transposed for `MatMul`), the erf GELU;
/// and the refusals (no head, a Llama, an unwritable output) leaving nothing behind.
/// ONNX Runtime's numbers against fttrain's: scripts/onnx_check.sh.
final class ONNXExportTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A tiny random encoder directory of `family`; with `labels`, a fine-tuned classifier's
    /// (HuggingFaceExport: `id2label` and the head's tensors).
    func modelDirectory(_ name: String, family: EncoderFamily = .bert, labels: [String]? = nil) throws -> URL {
        let base = directory.appendingPathComponent(name + "-base")
        try TinyModelDirectory.write(to: base, words: ["good", "bad", "film"], family: family)
        guard let labels else { return base }
        let model = try EncoderModel.load(modelDirectory: base, numLabels: labels.count, seed: 7)
        let classifier = directory.appendingPathComponent(name)
        try HuggingFaceExport.write(model: model, labels: labels, baseModelDirectory: base, to: classifier)
        return classifier
    }

    func read(_ url: URL) throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: Data(contentsOf: url))
    }

    func dimensions(_ info: Onnx_ValueInfoProto) -> [String] {
        info.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? String($0.dimValue) : $0.dimParam }
    }

    func floats(_ tensor: Onnx_TensorProto) -> [Float] {
        tensor.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testBertClassifierStructure() throws {
        let source = try modelDirectory("cls", labels: ["neg", "neutral", "pos"])
        let output = directory.appendingPathComponent("cls.onnx")
        let summary = try ONNXExport.write(modelDirectory: source, to: output)
        XCTAssertEqual(summary.task, .textClassification)
        let model = try read(output)
        XCTAssertEqual(model.irVersion, 8)
        XCTAssertEqual(model.opsetImport.map(\.domain), [""])
        XCTAssertEqual(model.opsetImport.map(\.version), [17])
        XCTAssertEqual(model.producerName, "fttrain")
        let graph = model.graph
        XCTAssertEqual(graph.input.map(\.name), ["input_ids", "attention_mask", "token_type_ids"])
        for input in graph.input {
            XCTAssertEqual(input.type.tensorType.elemType, Int32(Onnx_TensorProto.DataType.int64.rawValue), input.name)
            XCTAssertEqual(dimensions(input), ["batch", "sequence"], input.name)
        }
        XCTAssertEqual(graph.output.map(\.name), ["logits"])
        XCTAssertEqual(dimensions(graph.output[0]), ["batch", "3"])
        XCTAssertEqual(graph.output[0].type.tensorType.elemType, Int32(Onnx_TensorProto.DataType.float.rawValue))

        // Every parameter of the classifier is one float32 initializer, matrices of linear layers
        // transposed to (in, out); embedding tables and 1-D tensors as they are.
        let reference = try EncoderModel.load(modelDirectory: source, numLabels: 3)
        let initializers = Dictionary(uniqueKeysWithValues: graph.initializer.map { ($0.name, $0) })
        XCTAssertEqual(graph.initializer.count, 41)  // 5 embedding tensors, 2 layers × 16, pooler 2, classifier 2
        XCTAssertEqual(Set(initializers.keys), Set(reference.store.views.map(\.name)))
        for view in reference.store.views {
            let tensor = try XCTUnwrap(initializers[view.name], view.name)
            XCTAssertEqual(tensor.dataType, Int32(Onnx_TensorProto.DataType.float.rawValue), view.name)
            let isTable = view.name.hasPrefix("embeddings.")
            let expectedShape = view.shape.count == 2 && !isTable ? [view.shape[1], view.shape[0]] : view.shape
            XCTAssertEqual(tensor.dims, expectedShape.map(Int64.init), view.name)
            XCTAssertEqual(tensor.rawData.count, view.count * 4, view.name)
        }
        // Values: the classifier (3, 32) stored as its transpose (32, 3); a bias as is.
        let weight = reference.store.valueArray("classifier.weight")
        let stored = floats(try XCTUnwrap(initializers["classifier.weight"]))
        for o in 0..<3 {
            for i in 0..<32 { XCTAssertEqual(stored[i * 3 + o], weight[o * 32 + i]) }
        }
        XCTAssertEqual(
            floats(try XCTUnwrap(initializers["encoder.layer.1.output.dense.bias"])), reference.store.valueArray("encoder.layer.1.output.dense.bias"))
        XCTAssertEqual(
            floats(try XCTUnwrap(initializers["embeddings.word_embeddings.weight"])), reference.store.valueArray("embeddings.word_embeddings.weight"))

        // Opset 17: GELU in the erf form, LayerNormalization with the config's epsilon, tanh pooler.
        let ops = graph.node.map(\.opType)
        XCTAssertEqual(ops.filter { $0 == "Erf" }.count, 2)
        XCTAssertFalse(ops.contains("Gelu"))
        XCTAssertEqual(ops.filter { $0 == "LayerNormalization" }.count, 5)
        XCTAssertEqual(ops.filter { $0 == "Softmax" }.count, 2)
        XCTAssertEqual(ops.filter { $0 == "Tanh" }.count, 1)
        let norm = try XCTUnwrap(graph.node.first { $0.opType == "LayerNormalization" })
        XCTAssertEqual(norm.attribute.first { $0.name == "epsilon" }?.f, 1e-12)
        // Every node input is a graph input, an initializer or an earlier node's output.
        var known = Set(graph.input.map(\.name) + graph.initializer.map(\.name))
        for node in graph.node {
            for input in node.input { XCTAssertTrue(known.contains(input), "\(node.name) reads \(input) before it exists") }
            known.formUnion(node.output)
        }
        XCTAssertTrue(known.contains("logits"))
    }

    func testBareEncoderExportsLastHiddenState() throws {
        let source = try modelDirectory("base")
        let output = directory.appendingPathComponent("base.onnx")
        XCTAssertEqual(try ONNXExport.write(modelDirectory: source, to: output).task, .featureExtraction)
        let graph = try read(output).graph
        XCTAssertEqual(graph.output.map(\.name), ["last_hidden_state"])
        XCTAssertEqual(dimensions(graph.output[0]), ["batch", "sequence", "32"])
        XCTAssertEqual(graph.initializer.count, 37)  // 5 embedding tensors, 2 layers × 16; no pooler (not on this path)
        XCTAssertEqual(graph.initializer.first { $0.name == "embeddings.position_embeddings.weight" }?.dims, [64, 32])
    }

    func testClassifierForcedToFeatureExtraction() throws {
        let source = try modelDirectory("cls2", labels: ["a", "b"])
        let output = directory.appendingPathComponent("features.onnx")
        try ONNXExport.write(modelDirectory: source, task: .featureExtraction, to: output)
        let graph = try read(output).graph
        XCTAssertEqual(graph.output.map(\.name), ["last_hidden_state"])
        XCTAssertNil(graph.initializer.first { $0.name.hasPrefix("classifier.") })
    }

    func testDistilBertHasNoTokenTypes() throws {
        let source = try modelDirectory("distil", family: .distilBERT, labels: ["neg", "pos"])
        let output = directory.appendingPathComponent("distil.onnx")
        XCTAssertEqual(try ONNXExport.write(modelDirectory: source, to: output).family, "distilbert")
        let graph = try read(output).graph
        XCTAssertEqual(graph.input.map(\.name), ["input_ids", "attention_mask"])
        XCTAssertEqual(graph.output.map(\.name), ["logits"])
        XCTAssertEqual(graph.node.filter { $0.opType == "Relu" }.count, 1)
        XCTAssertNotNil(graph.initializer.first { $0.name == "transformer.layer.0.attention.q_lin.weight" })
        XCTAssertNotNil(graph.initializer.first { $0.name == "pre_classifier.weight" })
    }

    func testRefusalsNameTheProblemAndLeaveNothing() throws {
        let base = try modelDirectory("plain")
        let output = directory.appendingPathComponent("out.onnx")
        XCTAssertThrowsError(try ONNXExport.write(modelDirectory: base, task: .textClassification, to: output)) { error in
            guard case ONNXExportError.noClassifier(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, base.path)
            XCTAssertTrue("\(error)".contains("id2label"), "\(error)")
        }
        let llama = directory.appendingPathComponent("llama")
        try TinyLlamaDirectory.write(to: llama)
        XCTAssertThrowsError(try ONNXExport.write(modelDirectory: llama, to: output)) { error in
            XCTAssertTrue(
                "\(error)".contains("llama") && "\(error)".contains("no ONNX exporter") && "\(error)".contains("bert, distilbert"), "\(error)")
        }
        let missingDirectory = directory.appendingPathComponent("no/such/dir/out.onnx")
        XCTAssertThrowsError(try ONNXExport.write(modelDirectory: base, to: missingDirectory)) { error in
            XCTAssertTrue("\(error)".contains("cannot write the ONNX file") && "\(error)".contains("no such directory"), "\(error)")
        }
        XCTAssertThrowsError(try ONNXExport.write(modelDirectory: base, to: directory)) { error in
            XCTAssertTrue("\(error)".contains("it is a directory"), "\(error)")
        }
        let unknown = directory.appendingPathComponent("roberta")
        try FileManager.default.createDirectory(at: unknown, withIntermediateDirectories: true)
        try #"{"model_type": "roberta"}"#.write(to: unknown.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ONNXExport.write(modelDirectory: unknown, to: output)) { error in
            XCTAssertTrue("\(error)".contains("roberta has no ONNX exporter"), "\(error)")
        }
        // Nothing was written, not even a staged temporary file.
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("onnx") }
        XCTAssertEqual(left, [])
    }

    func testOverwriteReplacesTheFileWhole() throws {
        let source = try modelDirectory("over", labels: ["a", "b"])
        let output = directory.appendingPathComponent("model.onnx")
        try Data("stale".utf8).write(to: output)
        let summary = try ONNXExport.write(modelDirectory: source, to: output)
        XCTAssertEqual(try Data(contentsOf: output).count, summary.bytes)
        XCTAssertEqual(try read(output).graph.output.map(\.name), ["logits"])
    }
}

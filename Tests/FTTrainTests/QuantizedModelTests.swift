import FTCore
import FTModel
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Dynamic INT8 inference of the encoder: the quantised model directory `fttrain quantize` writes
/// (names, dtypes, marker), loading it back (the file's integers exactly), INT8 logits against
/// float32, and the same logits on every kernel (the int32 sums are exact, so the VNNI and portable
/// kernels give bit-identical floats).
final class QuantizedModelTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ft-int8-\(UUID().uuidString)")
        try TinyModelDirectory.write(
            to: directory.appendingPathComponent("float"), words: (0..<40).map { "w\($0)" }, hiddenSize: 64, layers: 2, heads: 4)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func logits(_ model: EncoderModel, kernel: Int8Kernel? = nil) throws -> [Float] {
        let saved = Int8Products.kernel
        defer { Int8Products.kernel = saved }
        if let kernel { Int8Products.kernel = kernel }
        let B = 3, T = 9
        let ids = (0..<(B * T)).map { Int32(5 + ($0 * 7) % 40) }
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: B * T),
            attentionMask: (0..<(B * T)).map { $0 % T < T - $0 / T ? 1 : 0 }, batch: B, sequence: T, training: false)
        return Array(UnsafeBufferPointer(start: out.logits!, count: B * model.numLabels))
    }

    func testQuantisedDirectoryRoundTripsAndInfersInInt8() throws {
        let source = try EncoderModel.load(modelDirectory: directory.appendingPathComponent("float"), numLabels: 3, seed: 7)
        let output = directory.appendingPathComponent("int8")
        try QuantizedModelExport.write(model: source, sourceDirectory: directory.appendingPathComponent("float"), to: output)

        // The file: int8 weights and scales under clear names, everything else float32; the marker.
        let file = try SafeTensorsFile(path: output.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(file.info("bert.encoder.layer.1.attention.self.key.weight_int8")?.dtype, .I8)
        XCTAssertEqual(file.info("bert.encoder.layer.1.attention.self.key.weight_scale")?.shape, [64])
        XCTAssertNil(file.info("bert.encoder.layer.1.attention.self.key.weight"))
        XCTAssertEqual(file.info("bert.encoder.layer.0.intermediate.dense.weight_int8")?.shape, [128, 64])
        XCTAssertEqual(file.info("bert.embeddings.word_embeddings.weight")?.dtype, .F32)
        XCTAssertEqual(file.info("classifier.weight")?.dtype, .F32)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any]
        XCTAssertEqual((config?[EncoderModel.quantizationKey] as? [String: Any])?["method"] as? String, "dynamic_int8")
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("vocab.txt").path))

        let loaded = try EncoderModel.load(modelDirectory: output, numLabels: 3)
        XCTAssertTrue(loaded.isQuantized)
        XCTAssertFalse(source.isQuantized)
        for name in source.quantizedWeightNames {
            let view = source.store.view(name)
            let (q, s) = Int8Weights.quantize(source.store.value(name), outputs: view.shape[0], inputs: view.shape[1])
            let got = Array(UnsafeBufferPointer(start: loaded.store.value(name), count: view.count))
            XCTAssertEqual(got, (0..<view.count).map { Float(q[$0]) * s[$0 / view.shape[1]] }, name)
        }
        XCTAssertEqual(
            Array(UnsafeBufferPointer(start: loaded.store.value("classifier.weight"), count: 3 * 64)),
            Array(UnsafeBufferPointer(start: source.store.value("classifier.weight"), count: 3 * 64)))

        // INT8 logits: near float32's, identical to quantising in memory, identical on every kernel.
        let float32 = try logits(source)
        let int8 = try logits(loaded)
        XCTAssertNotEqual(int8, float32, "the INT8 path ran")
        for (a, b) in zip(int8, float32) { XCTAssertEqual(a, b, accuracy: 0.02 * max(1, abs(b))) }
        source.quantizeForInference()
        XCTAssertEqual(try logits(source), int8)
        for kernel in Int8ProductKernels.all { XCTAssertEqual(try logits(loaded, kernel: kernel), int8, "\(kernel)") }
        source.dropQuantization()
        XCTAssertEqual(try logits(source), float32)
    }

    func testUnknownQuantisationMethodIsAnErrorNamingTheFile() throws {
        let float = directory.appendingPathComponent("float")
        let path = float.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as! [String: Any]
        config[EncoderModel.quantizationKey] = ["method": "static_int4"]
        try JSONSerialization.data(withJSONObject: config).write(to: path)
        XCTAssertThrowsError(try EncoderModel.load(modelDirectory: float)) { error in
            XCTAssertTrue("\(error)".contains(path.path) && "\(error)".contains("static_int4"), "\(error)")
        }
    }

    func testMissingScaleIsAnErrorNamingTheTensor() throws {
        let source = try EncoderModel.load(modelDirectory: directory.appendingPathComponent("float"))
        let output = directory.appendingPathComponent("int8")
        try QuantizedModelExport.write(model: source, sourceDirectory: directory.appendingPathComponent("float"), to: output)
        let path = output.appendingPathComponent("model.safetensors").path
        let file = try SafeTensorsFile(path: path)
        var writer = SafeTensorsWriter()
        for info in file.tensors where info.name != "bert.encoder.layer.0.output.dense.weight_scale" {
            try writer.add(info.name, shape: info.shape, rawBytes: try file.withRawBytes(info.name) { Array($0) }, dtype: info.dtype)
        }
        try writer.write(toPath: path)
        XCTAssertThrowsError(try EncoderModel.load(modelDirectory: output)) { error in
            XCTAssertTrue("\(error)".contains("bert.encoder.layer.0.output.dense.weight_scale"), "\(error)")
        }
    }

    /// all-MiniLM-L6-v2 in INT8: mean-pooled sentence embeddings within cosine 0.99 of float32's.
    func testRealModelEmbeddingsStayClose() throws {
        let modelDirectory = try TestAssets.realModelDirectory()
        let tokenizer = try BertTokenizer.load(modelDirectory: modelDirectory)
        let model = try EncoderModel.load(modelDirectory: modelDirectory)
        let sentences = [
            "A man is eating food.", "The weather is lovely today, let's go for a walk in the park.",
            "Quantisation trades a little precision for speed.", "不要害怕",
        ]
        let batch = tokenizer.padBatch(sentences.map { tokenizer.encode($0) })
        func pooled() throws -> [[Float]] {
            let B = sentences.count, T = batch.sequenceLength, C = model.config.hiddenSize
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: B, sequence: T, training: false)
            return (0..<B).map { b in
                var sum = [Float](repeating: 0, count: C)
                var count: Float = 0
                for t in 0..<T where batch.attentionMask[b * T + t] == 1 {
                    for c in 0..<C { sum[c] += out.lastHiddenState[(b * T + t) * C + c] }
                    count += 1
                }
                return sum.map { $0 / count }
            }
        }
        let float32 = try pooled()
        model.quantizeForInference()
        let int8 = try pooled()
        for (i, (a, b)) in zip(float32, int8).enumerated() {
            let dot = zip(a, b).map { $0 * $1 }.reduce(0, +)
            let cosine = dot / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
            XCTAssertGreaterThan(cosine, 0.99, "sentence \(i): cosine \(cosine)")
        }
    }
}

/// The kernels this CPU can run.
enum Int8ProductKernels {
    static var all: [Int8Kernel] { Int8Products.cpuHasVNNI ? [.onednn, .vnni, .portable] : [.portable] }
}

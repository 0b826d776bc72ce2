import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// Next-token cross-entropy as Hugging Face's causal-LM loss computes it: logits at position t
/// predict labels[t + 1]; -100 targets are ignored; mean over the kept ones. Returns the loss and
/// its gradient with respect to the (B, T, V) logits (zero at the last position and ignored ones).
func nextTokenCrossEntropy(
    logits: UnsafePointer<Float>, labels: [Int64], batch B: Int, sequence T: Int, vocabulary V: Int
)
    -> (loss: Float, dLogits: [Float])
{
    var dLogits = [Float](repeating: 0, count: B * T * V)
    var kept: [Int] = []
    for b in 0..<B {
        for t in 0..<(T - 1) where labels[b * T + t + 1] != -100 { kept.append(b * T + t) }
    }
    let count = Float(kept.count)
    var loss = 0.0
    for n in kept {
        let target = Int(labels[n + 1])
        let row = logits + n * V
        var maxValue = -Float.infinity
        for v in 0..<V { maxValue = max(maxValue, row[v]) }
        var sum = 0.0
        for v in 0..<V { sum += exp(Double(row[v] - maxValue)) }
        loss += log(sum) - Double(row[target] - maxValue)
        for v in 0..<V {
            let p = exp(Double(row[v] - maxValue)) / sum
            dLogits[n * V + v] = Float(p) / count
        }
        dLogits[n * V + target] -= 1 / count
    }
    return (Float(loss / Double(kept.count)), dLogits)
}

/// The Llama reference fixtures (scripts/reference/make_llama_reference.py).
enum LlamaFixtures {
    static func url(_ name: String) throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
            "\(name) missing from the test bundle")
    }

    static func reference(_ name: String) throws -> SafeTensorsFile {
        let file = try SafeTensorsFile(path: try url(name + ".safetensors").path)
        XCTAssertEqual(file.metadata["format_version"], "1", "reference format changed: regenerate it and update the test")
        return file
    }

    static func model(peft: PEFTSetup? = nil) throws -> LlamaModel {
        try LlamaModel.load(modelDirectory: try url("llama_tiny"), peft: peft)
    }
}

/// Matches a tiny random `LlamaForCausalLM` (GQA, tied embeddings, right-padded batch, masked
/// prompt) against PyTorch + transformers, with the BERT tolerances: logits and loss
/// `atol 1e-5, rtol 1e-5`; gradients `atol 1e-5, rtol 1e-4`.
final class LlamaReferenceTests: XCTestCase {
    func testConfigFromTransformersFive() throws {
        let model = try LlamaFixtures.model()
        XCTAssertEqual(model.config.ropeTheta, 100000)
        XCTAssertEqual(model.config.numKeyValueHeads, 2)
        XCTAssertEqual(model.config.headDim, 8)
        XCTAssertTrue(model.config.tieWordEmbeddings)
        XCTAssertFalse(model.store.contains("lm_head.weight"), "tied: the output projection reads the embedding table")
    }

    func testForwardAndBackwardMatchPyTorch() throws {
        let file = try LlamaFixtures.reference("llama_tiny_reference")
        let model = try LlamaFixtures.model()
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let labels = try file.int64s("input.labels")
        let shape = try XCTUnwrap(file.info("input.input_ids")).shape
        let (B, T, V) = (shape[0], shape[1], model.config.vocabSize)
        XCTAssertTrue(mask.contains(0), "the reference must exercise padding")

        let logits = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: B, sequence: T, training: true)
        assertClose(Array(UnsafeBufferPointer(start: logits, count: B * T * V)), try file.floats("output.logits"), atol: 1e-5, rtol: 1e-5, "logits")
        let (loss, dLogits) = nextTokenCrossEntropy(logits: logits, labels: labels, batch: B, sequence: T, vocabulary: V)
        assertClose([loss], try file.floats("output.loss"), atol: 1e-5, rtol: 1e-5, "loss")

        model.store.zeroGradients()
        var ready: [Int] = []
        model.backwardLogits(dLogits: dLogits) { ready.append($0) }
        var checked = 0
        for view in model.store.views {
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + view.name), atol: 1e-5, rtol: 1e-4, "grad." + view.name)
            checked += 1
        }
        XCTAssertEqual(checked, file.tensors.filter { $0.name.hasPrefix("grad.") }.count, "every gradient of the reference is checked")
        XCTAssertEqual(ready.last, 0)
        XCTAssertEqual(ready, ready.sorted(by: >), "ready offsets move down the buffer")
    }

    func testFrozenBottomSkipsWorkButKeepsTopGradients() throws {
        let file = try LlamaFixtures.reference("llama_tiny_reference")
        let model = try LlamaFixtures.model()
        let ids = try file.int64s("input.input_ids").map(Int32.init)
        let mask = try file.int64s("input.attention_mask").map(Int32.init)
        let labels = try file.int64s("input.labels")
        let (B, T, V) = (2, ids.count / 2, model.config.vocabSize)
        // Only layer 1 and the final norm train.
        model.setTrainable { $0.hasPrefix("model.layers.1.") || $0 == "model.norm.weight" }
        let logits = try model.forwardLogits(inputIds: ids, attentionMask: mask, batch: B, sequence: T, training: true)
        let (_, dLogits) = nextTokenCrossEntropy(logits: logits, labels: labels, batch: B, sequence: T, vocabulary: V)
        model.backwardLogits(dLogits: dLogits)
        for view in model.store.trainableViews {
            assertClose(model.store.gradientArray(view.name), try file.floats("grad." + view.name), atol: 1e-5, rtol: 1e-4, "grad." + view.name)
        }
        XCTAssertEqual(model.store.trainableViews.count, 10)
    }

    func testGreedyGenerationEqualsTransformers() throws {
        let file = try LlamaFixtures.reference("llama_tiny_reference")
        let model = try LlamaFixtures.model()
        var ids = try file.int64s("generate.prompt").map(Int32.init)
        let expected = try file.int64s("generate.ids").map(Int32.init)
        // Greedy decoding by full forwards (the cache is checked against this in LlamaCacheTests).
        while ids.count < expected.count {
            let T = ids.count, V = model.config.vocabSize
            let logits = try model.forwardLogits(inputIds: ids, attentionMask: nil, batch: 1, sequence: T, training: false)
            let last = logits + (T - 1) * V
            ids.append(Int32((0..<V).max { last[$0] < last[$1] }!))
        }
        XCTAssertEqual(ids, expected)
    }

    func testBadConfigsAreRefusedByName() throws {
        func read(_ object: [String: Any]) throws -> LlamaConfig {
            var base: [String: Any] = [
                "model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 1,
                "num_attention_heads": 2, "num_key_value_heads": 1,
            ]
            base.merge(object) { $1 }
            return try LlamaConfig.read(ConfigJSON(path: "x/config.json", object: base))
        }
        XCTAssertEqual(try read([:]).headDim, 4)
        for (object, key) in [
            (["attention_bias": true], "attention_bias"), (["mlp_bias": true], "mlp_bias"), (["hidden_act": "gelu"], "hidden_act"),
            (["rope_scaling": ["type": "linear", "factor": 2.0]], "rope_scaling"), (["num_key_value_heads": 3], "num_key_value_heads"),
        ] as [([String: Any], String)] {
            XCTAssertThrowsError(try read(object)) { error in
                XCTAssertTrue("\(error)".contains(key), "\(error) names \(key)")
                XCTAssertTrue("\(error)".contains("x/config.json"))
            }
        }
    }

    func testShardedCheckpointAndMismatchedConfig() throws {
        let source = try LlamaFixtures.model()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llama-shards-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configData = try Data(contentsOf: try LlamaFixtures.url("llama_tiny").appendingPathComponent("config.json"))
        try configData.write(to: directory.appendingPathComponent("config.json"))
        // Two shards: layer 1 in the second, the rest in the first.
        var writers = [SafeTensorsWriter(metadata: ["format": "pt"]), SafeTensorsWriter(metadata: ["format": "pt"])]
        var map: [String: String] = [:]
        for view in source.store.views {
            let shard = view.name.hasPrefix("model.layers.1.") ? 1 : 0
            try writers[shard].add(view.name, shape: view.shape, floats: UnsafeBufferPointer(start: source.store.value(view.name), count: view.count))
            map[view.name] = "model-0000\(shard + 1)-of-00002.safetensors"
        }
        for (i, writer) in writers.enumerated() {
            try writer.write(toPath: directory.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors").path)
        }
        try JSONSerialization.data(withJSONObject: ["metadata": [String: Any](), "weight_map": map])
            .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
        let sharded = try LlamaModel.load(modelDirectory: directory)
        XCTAssertEqual(Array(sharded.store.values), Array(source.store.values))

        // A config that disagrees with the weights is refused naming the key, before allocation.
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: configData) as? [String: Any])
        object["intermediate_size"] = 40
        try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try LlamaModel.load(modelDirectory: directory)) { error in
            XCTAssertTrue("\(error)".contains("intermediate_size 40"), "\(error)")
        }
        // A shard the index names must be there.
        try configData.write(to: directory.appendingPathComponent("config.json"))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        XCTAssertThrowsError(try LlamaModel.load(modelDirectory: directory)) { error in
            XCTAssertTrue("\(error)".contains("model-00002-of-00002.safetensors"), "\(error)")
        }
    }
}

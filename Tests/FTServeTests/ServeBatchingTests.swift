import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Answers under concurrent clients equal what `fttrain predict` / `fttrain embed` compute for the
/// same texts alone: dynamic batching (requests of several clients in one padded forward pass)
/// changes no result.
final class ServeBatchingTests: ServeTestCase {
    /// 16 clients × 6 requests of 1–3 texts (some pairs) at once, with a 5 ms wait window so
    /// batches really form; every probability equals predict's within 1e-6 (and the test reports
    /// how many are bit-identical), every label is predict's argmax.
    func testConcurrentPredictionsEqualPredict() async throws {
        let (_, port) = try await start(configuration { $0.maxWaitMilliseconds = 5 })
        let texts = Self.texts(16 * 6 * 2)
        let expected = try predictCommandProbabilities(texts)
        // Request r of client c carries texts starting at (c * 6 + r) * 2, one to three of them.
        let answers = try await concurrently(16) { client -> [(Int, HTTPTestClient.Response)] in
            try (0..<6).map { r in
                let start = (client * 6 + r) * 2
                let count = 1 + (client + r) % 3
                let inputs = (start..<min(start + count, texts.count)).map { Self.input(texts[$0]) }
                return (start, try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": inputs]))
            }
        }
        var compared = 0, identical = 0
        var worst: Float = 0
        for (start, response) in answers.joined() {
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.json["model"] as? String, "classifier")
            XCTAssertEqual(response.headers["x-request-id"], response.json["id"] as? String)
            let predictions = try XCTUnwrap(response.json["predictions"] as? [[String: Any]])
            for (offset, prediction) in predictions.enumerated() {
                let want = expected[start + offset]
                let probabilities = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
                for (k, label) in Self.labels.enumerated() {
                    let got = Float(try XCTUnwrap(probabilities[label]))
                    worst = max(worst, abs(got - want[k]))
                    if got == want[k] { identical += 1 }
                    compared += 1
                }
                let argmax = want.indices.max { want[$0] < want[$1] || (want[$0] == want[$1] && $0 > $1) }!
                XCTAssertEqual(prediction["label"] as? String, Self.labels[argmax])
            }
        }
        XCTAssertGreaterThan(compared, 16 * 6 * 3)
        XCTAssertLessThanOrEqual(worst, 1e-6, "served probabilities differ from predict's by \(worst)")
        print("serve batching: \(identical)/\(compared) probabilities bit-identical to predict's, largest difference \(worst)")
    }

    /// The batches did hold several clients' requests (fewer batches than requests), and none
    /// held more than max_batch_requests texts.
    func testConcurrentRequestsShareBatches() async throws {
        let (server, port) = try await start(
            configuration {
                $0.maxWaitMilliseconds = 100
                $0.maxBatchRequests = 4
            })
        let answers = try await concurrently(12) { i in
            try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "the movie was good \(i)"])
        }
        XCTAssertEqual(answers.map(\.status), [Int](repeating: 200, count: 12))
        let samples = try PrometheusSamples(server.metrics.text())
        let batches = try XCTUnwrap(samples.value("fttrain_batch_size_count", ["model": "classifier"]))
        let texts = try XCTUnwrap(samples.value("fttrain_batch_size_sum", ["model": "classifier"]))
        XCTAssertEqual(texts, 12)
        XCTAssertLessThan(batches, 12, "12 concurrent requests within a 100 ms window ran in \(batches) batches")
        XCTAssertGreaterThanOrEqual(batches, 3)
        XCTAssertEqual(samples.value("fttrain_batch_size_bucket", ["model": "classifier", "le": "4.0"]), batches, "a batch over 4 texts")
    }

    /// The real MiniLM served: embeddings equal what `fttrain embed --normalize` computes for each
    /// text alone (its tokenizer, forward and mean pooling), within 1e-5, under 4 concurrent clients.
    func testMiniLMEmbeddingsEqualEmbedPath() async throws {
        let minilm = try TestAssets.realModelDirectory()
        let (_, port) = try await start(
            configuration {
                $0.models = [.init(name: "minilm", directory: minilm.path)]
                $0.adapters = []
            })
        let texts = ["A gripping, beautifully shot film.", "Dull and far too long.", "Paris is the capital of France.", "¿Dónde está la biblioteca?"]
        let answers = try await concurrently(texts.count) { i in try HTTPTestClient.post(port: port, path: "/v1/embed", json: ["inputs": texts[i]]) }
        let tokenizer = try BertTokenizer.load(modelDirectory: minilm)
        let encoder = try ModelRegistry.load(modelDirectory: minilm)
        let C = encoder.hiddenSize
        for (i, answer) in answers.enumerated() {
            XCTAssertEqual(answer.status, 200, answer.text)
            let got = try XCTUnwrap((answer.json["embeddings"] as? [[Double]])?.first).map { Float($0) }
            let encoding = tokenizer.encode(texts[i], maxLength: 256)  // sentence_bert_config.json's max_seq_length
            let T = encoding.inputIds.count
            let out = try encoder.forward(
                inputIds: encoding.inputIds, tokenTypeIds: encoding.tokenTypeIds, attentionMask: encoding.attentionMask, batch: 1,
                sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
            var want = [Float](repeating: 0, count: C)
            want.withUnsafeMutableBufferPointer { w in
                SentencePooling.mean.pool(
                    output: w.baseAddress!, lastHidden: out.lastHiddenState, attentionMask: encoding.attentionMask, batch: 1,
                    sequence: T, channels: C, normalize: true)
            }
            XCTAssertEqual(got.count, 384)
            for c in 0..<C { XCTAssertEqual(got[c], want[c], accuracy: 1e-5, "text \(i) channel \(c)") }
        }
    }

    /// Embeddings of concurrent requests (mean and cls pooling, normalised or not) equal one
    /// text's forward pass alone pooled as `fttrain embed` pools, within 1e-6.
    func testConcurrentEmbeddingsEqualSingleTextForward() async throws {
        let (_, port) = try await start(configuration { $0.maxWaitMilliseconds = 5 })
        let texts = Self.texts(24, seed: 9).map(\.0)
        let settings: [(SentencePooling, Bool)] = [(.mean, true), (.cls, false), (.mean, false), (.cls, true)]
        let answers = try await concurrently(texts.count) { i in
            try HTTPTestClient.post(
                port: port, path: "/v1/embed",
                json: ["model": "encoder", "inputs": [texts[i]], "pooling": settings[i % 4].0.rawValue, "normalize": settings[i % 4].1])
        }
        let tokenizer = try BertTokenizer.load(modelDirectory: encoderDirectory)
        let encoder = try ModelRegistry.load(modelDirectory: encoderDirectory)
        let C = encoder.hiddenSize
        var worst: Float = 0
        for (i, response) in answers.enumerated() {
            XCTAssertEqual(response.status, 200, response.text)
            let got = try XCTUnwrap((response.json["embeddings"] as? [[Double]])?.first).map { Float($0) }
            let encoding = tokenizer.encode(texts[i], maxLength: encoder.maxSequenceLength)
            let T = encoding.inputIds.count
            let out = try encoder.forward(
                inputIds: encoding.inputIds, tokenTypeIds: encoding.tokenTypeIds, attentionMask: encoding.attentionMask, batch: 1,
                sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
            var want = [Float](repeating: 0, count: C)
            want.withUnsafeMutableBufferPointer { w in
                settings[i % 4].0.pool(
                    output: w.baseAddress!, lastHidden: out.lastHiddenState, attentionMask: encoding.attentionMask, batch: 1,
                    sequence: T, channels: C, normalize: settings[i % 4].1)
            }
            XCTAssertEqual(got.count, C)
            for c in 0..<C { worst = max(worst, abs(got[c] - want[c])) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-6)
    }

    /// An adapter over the served encoder answers what `AdapterSet` computes with it active, and
    /// switching between the adapter and the plain models inside one run changes nothing.
    func testAdapterPredictionsEqualAdapterSet() async throws {
        let (_, port) = try await start(configuration())
        let texts = Self.texts(10, seed: 5)
        let answers = try await concurrently(10) { i in
            try HTTPTestClient.post(
                port: port, path: "/v1/predict", json: ["model": i % 2 == 0 ? "lora" : "classifier", "inputs": [Self.input(texts[i])]])
        }
        let set = try AdapterSet(baseModelDirectory: encoderDirectory, adapters: [("lora", adapterDirectory)])
        let tokenizer = try BertTokenizer.load(modelDirectory: encoderDirectory)
        let expectedClassifier = try predictCommandProbabilities(texts)
        for (i, response) in answers.enumerated() {
            XCTAssertEqual(response.status, 200, response.text)
            let prediction = try XCTUnwrap((response.json["predictions"] as? [[String: Any]])?.first)
            let probabilities = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
            if i % 2 == 0 {
                let dataset = EncodedDataset.encode(
                    texts: [texts[i].0], pairs: [texts[i].1], labels: [0], tokenizer: tokenizer, maxLength: set.model.maxSequenceLength)
                let want = try Predictions.compute(model: set.model, dataset: dataset, batchSize: 1, padTokenId: tokenizer.padTokenId)
                XCTAssertEqual(Set(probabilities.keys), ["LABEL_0", "LABEL_1"])
                for k in 0..<2 { XCTAssertEqual(Float(probabilities["LABEL_\(k)"]!), want.row(0)[k], accuracy: 1e-6) }
            } else {
                for (k, label) in Self.labels.enumerated() { XCTAssertEqual(Float(probabilities[label]!), expectedClassifier[i][k], accuracy: 1e-6) }
            }
        }
    }
}

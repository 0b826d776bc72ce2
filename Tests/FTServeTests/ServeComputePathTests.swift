import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// The compute paths of `fttrain serve` (issue 16): a lone request on an idle queue runs inline on
/// its own thread and answers exactly what the compute thread computes for it; concurrent clients
/// still batch and still equal `fttrain predict`; a generation runs on a thread of its own, so it
/// never holds up an encoder's requests.
final class ServeComputePathTests: ServeTestCase {
    var llamaDirectory: URL { directory.appendingPathComponent("llama") }

    /// The same requests through a queue that runs idle requests inline and through one that never
    /// does: bit-identical rows (classify and embed), and the inline queue did run them inline.
    func testInlineRunsEqualComputeThreadRuns() async throws {
        let models = try ServedModel.loadAll(configuration())
        let classifier = try XCTUnwrap(models.first { $0.name == "classifier" })
        let encoder = try XCTUnwrap(models.first { $0.name == "encoder" })
        let inline = BatchQueue(maxBatchTokens: 16384, maxBatchRequests: 32, maxWaitMilliseconds: 0, metrics: nil)
        let queued = BatchQueue(
            maxBatchTokens: 16384, maxBatchRequests: 32, maxWaitMilliseconds: 0, metrics: nil, runsIdleRequestsInline: false)
        inline.start()
        queued.start()
        defer {
            inline.stop()
            queued.stop()
        }
        let texts = Self.texts(12, seed: 21)
        for (i, text) in texts.enumerated() {
            let encodings = [try classifier.encode(text.0, pair: text.1, truncate: true, field: "inputs[0]")]
            let a = try await inline.submit(model: classifier, operation: .classify, encodings: encodings)
            let b = try await queued.submit(model: classifier, operation: .classify, encodings: encodings)
            XCTAssertEqual(a.rows, b.rows, "text \(i): classify")
            XCTAssertEqual(a.rows.first?.count, 3)
            let plain = [try encoder.encode(text.0, pair: nil, truncate: true, field: "inputs[0]")]
            let c = try await inline.submit(model: encoder, operation: .embed(.mean, true), encodings: plain)
            let d = try await queued.submit(model: encoder, operation: .embed(.mean, true), encodings: plain)
            XCTAssertEqual(c.rows, d.rows, "text \(i): embed")
        }
        XCTAssertEqual(inline.inlineRunCount, 2 * texts.count, "every request on the idle queue ran inline")
        XCTAssertEqual(queued.inlineRunCount, 0)
    }

    /// Without a wait window, 12 clients × 4 sequential requests: every answer equals predict's
    /// within 1e-6 whichever path it took; the sequential requests of one client (the warm-up) ran inline.
    func testConcurrentClientsWithoutWaitWindowEqualPredict() async throws {
        let (server, port) = try await start(configuration())
        let texts = Self.texts(12 * 4, seed: 17)
        let expected = try predictCommandProbabilities(texts)
        for i in 0..<3 {
            let warm = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": Self.input(texts[i])])
            XCTAssertEqual(warm.status, 200, warm.text)
        }
        XCTAssertEqual(server.queue.inlineRunCount, 3, "sequential requests on an idle server run inline")
        let answers = try await concurrently(12) { client -> [(Int, HTTPTestClient.Response)] in
            try (0..<4).map { r in
                let index = client * 4 + r
                return (
                    index,
                    try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": [Self.input(texts[index])]])
                )
            }
        }
        var worst: Float = 0
        for (index, response) in answers.joined() {
            XCTAssertEqual(response.status, 200, response.text)
            let prediction = try XCTUnwrap((response.json["predictions"] as? [[String: Any]])?.first)
            let probabilities = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
            for (k, label) in Self.labels.enumerated() { worst = max(worst, abs(Float(try XCTUnwrap(probabilities[label])) - expected[index][k])) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-6)
        let samples = try PrometheusSamples(server.metrics.text())
        XCTAssertEqual(samples.value("fttrain_batch_size_sum", ["model": "classifier"]), Double(3 + 12 * 4), "every text counted once")
        XCTAssertEqual(samples.value("fttrain_queue_depth", ["model": "classifier"]), 0)
        print("serve compute paths: \(server.queue.inlineRunCount - 3) of 48 concurrent requests ran inline, the rest batched")
    }

    /// A generation in progress (held on the generation thread) does not hold up an encoder's
    /// request, which is answered meanwhile; a second generation waits for the first.
    func testGenerationDoesNotBlockEncoderRequests() async throws {
        try TinyLlamaDirectory.write(to: llamaDirectory)
        let (server, port) = try await start(configuration { $0.models.append(.init(name: "llm", directory: llamaDirectory.path)) })
        let release = DispatchSemaphore(value: 0), holding = DispatchSemaphore(value: 0)
        // Stands for a long generation: holds the generation thread until released.
        try server.generationQueue.submit(model: "llm") {
            holding.signal()
            release.wait()
        }
        holding.wait()
        async let generation = concurrently(1) { _ in
            try HTTPTestClient.post(port: port, path: "/v1/generate", json: ["model": "llm", "inputs": "hello", "parameters": ["max_new_tokens": 3]])
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let predicted = try await concurrently(1) { _ in
            try HTTPTestClient.send(
                port: port, path: "/v1/predict",
                body: try JSONSerialization.data(withJSONObject: ["model": "classifier", "inputs": "the film was good"]),
                headers: ["content-type": "application/json"], timeout: 20)
        }[0]
        XCTAssertEqual(predicted.status, 200, predicted.text)
        let predictSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let embedded = try await concurrently(1) { _ in
            try HTTPTestClient.post(port: port, path: "/v1/embed", json: ["model": "encoder", "inputs": "a story about a city"])
        }[0]
        XCTAssertEqual(embedded.status, 200, embedded.text)
        for _ in 0..<100 where server.limits.current != 1 { try await Task.sleep(nanoseconds: 50_000_000) }
        XCTAssertEqual(server.limits.current, 1, "the generation request is still waiting behind the held one")
        release.signal()
        let generated = try await generation[0]
        XCTAssertEqual(generated.status, 200, generated.text)
        XCTAssertNotNil(generated.json["generated_text"] as? String, generated.text)
        print("serve compute paths: predict answered in \(String(format: "%.3f", predictSeconds)) s while a generation held its thread")
    }
}

@testable import FTServe
import Foundation
import XCTest

/// `/metrics` parses as Prometheus text and its counters equal the requests sent; `/health`,
/// `/info` (with lineage.json) and the YAML configuration.
final class ServeMetricsTests: ServeTestCase {
    func testMetricsCountTheRequestsSent() async throws {
        let (_, port) = try await start(configuration())
        for i in 0..<5 {
            XCTAssertEqual(
                try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": ["good \(i)", "bad"]]).status, 200)
        }
        for _ in 0..<3 {
            XCTAssertEqual(try HTTPTestClient.post(port: port, path: "/v1/embed", json: ["model": "encoder", "inputs": "a film"]).status, 200)
        }
        for _ in 0..<2 {
            XCTAssertEqual(try HTTPTestClient.post(port: port, path: "/v1/tokenize", json: ["model": "lora", "inputs": "a film"]).status, 200)
        }
        for _ in 0..<4 {
            XCTAssertEqual(try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": 1]).status, 400)
        }
        XCTAssertEqual(try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "nope", "inputs": "a"]).status, 404)
        XCTAssertEqual(try HTTPTestClient.get(port: port, path: "/health").status, 200)
        let response = try HTTPTestClient.get(port: port, path: "/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(response.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        let samples = try PrometheusSamples(response.text)
        func requests(_ model: String, _ route: String, _ status: String) -> Double? {
            samples.value("fttrain_requests_total", ["model": model, "route": route, "status": status])
        }
        XCTAssertEqual(requests("classifier", "/v1/predict", "200"), 5)
        XCTAssertEqual(requests("encoder", "/v1/embed", "200"), 3)
        XCTAssertEqual(requests("lora", "/v1/tokenize", "200"), 2)
        // A request whose body fails to parse names no model yet.
        XCTAssertEqual(requests("", "/v1/predict", "400"), 4)
        XCTAssertEqual(requests("", "/v1/predict", "404"), 1)
        XCTAssertEqual(requests("", "/health", "200"), 1)
        XCTAssertEqual(samples.value("fttrain_request_failures_total", ["route": "/v1/predict", "reason": "validation"]), 4)
        XCTAssertEqual(samples.value("fttrain_request_failures_total", ["route": "/v1/predict", "reason": "not_found"]), 1)
        XCTAssertEqual(samples.value("fttrain_request_failures_total"), 5)
        XCTAssertEqual(samples.value("fttrain_queue_seconds_count", ["model": "classifier", "route": "/v1/predict"]), 5)
        XCTAssertEqual(samples.value("fttrain_inference_seconds_count", ["model": "encoder", "route": "/v1/embed"]), 3)
        XCTAssertEqual(samples.value("fttrain_batch_size_sum", ["model": "classifier"]), 10)
        XCTAssertEqual(samples.value("fttrain_batch_size_count", ["model": "classifier"]), 5)  // one client: one request per batch
        XCTAssertGreaterThan(try XCTUnwrap(samples.value("fttrain_batch_tokens_sum", ["model": "classifier"])), 10)
        for model in ["classifier", "encoder", "lora"] { XCTAssertEqual(samples.value("fttrain_queue_depth", ["model": model]), 0) }
        XCTAssertNil(samples.value("fttrain_queue_seconds_count", ["route": "/v1/tokenize"]), "tokenize does not queue")
    }

    func testHealthAndInfo() async throws {
        let lineage = "{\"format\": \"fttrain-lineage/1\", \"run_id\": \"r1\", \"metrics\": {\"accuracy\": 0.5}}"
        try lineage.write(to: classifierDirectory.appendingPathComponent("lineage.json"), atomically: true, encoding: .utf8)
        let (_, port) = try await start(configuration())
        let health = try HTTPTestClient.get(port: port, path: "/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json["status"] as? String, "ok")
        let info = try HTTPTestClient.get(port: port, path: "/info")
        XCTAssertEqual(info.status, 200, info.text)
        XCTAssertNotNil(info.json["version"] as? String)
        let models = try XCTUnwrap(info.json["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["name"] as? String }, ["classifier", "encoder", "lora"])
        XCTAssertEqual(models.map { $0["kind"] as? String }, ["classifier", "embedder", "classifier"])
        XCTAssertEqual(models[0]["labels"] as? [String], Self.labels)
        XCTAssertEqual(models[1]["labels"] as? [String], [])
        XCTAssertEqual(models[2]["labels"] as? [String], ["LABEL_0", "LABEL_1"])
        XCTAssertEqual(models.map { $0["max_length"] as? Int }, [64, 64, 64])
        XCTAssertEqual(models[2]["base"] as? String, "encoder")
        XCTAssertTrue(models[0]["base"] is NSNull)
        let shown = try XCTUnwrap(models[0]["lineage"] as? [String: Any])
        XCTAssertEqual(shown["format"] as? String, "fttrain-lineage/1")
        XCTAssertEqual((shown["metrics"] as? [String: Any])?["accuracy"] as? Double, 0.5)
        XCTAssertTrue(models[1]["lineage"] is NSNull)
    }

    /// A graceful shutdown with requests queued: the server reports draining (health 503) and
    /// still answers every queued request.
    func testShutdownDrainsQueuedRequests() async throws {
        let (server, port) = try await start(configuration { $0.maxWaitMilliseconds = 1500 })
        let clients = Task {
            try await concurrently(4) { i in
                try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "good \(i)"])
            }
        }
        var queued = 0.0
        for _ in 0..<500 where queued < 4 {
            queued = try PrometheusSamples(server.metrics.text()).value("fttrain_queue_depth", ["model": "classifier"]) ?? 0
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        XCTAssertEqual(queued, 4)
        XCTAssertFalse(server.limits.draining)
        await server.shutdown()
        for _ in 0..<500 where !server.limits.draining { try await Task.sleep(nanoseconds: 2_000_000) }
        XCTAssertTrue(server.limits.draining, "/health answers 503 from now on")
        let answers = try await clients.value
        XCTAssertEqual(answers.map(\.status), [200, 200, 200, 200], answers.map(\.text).joined(separator: "\n"))
    }

    /// The YAML file gives models, adapters and limits as the flags do; one served model needs no "model".
    func testYAMLConfiguration() async throws {
        let yaml = directory.appendingPathComponent("serve.yaml")
        try """
        models:
          only: \(classifierDirectory.path)
          also: \(classifierDirectory.path)
        max_inputs: 2
        max_batch_tokens: 512
        truncate: false
        routes:
          sentiment: {ab: {only: 1.0, also: 1.0}, sticky_header: x-client-id}
        """.write(to: yaml, atomically: true, encoding: .utf8)
        var loaded = ServeConfiguration()
        try loaded.load(yamlFile: yaml.path)
        XCTAssertEqual(
            loaded.models, [.init(name: "also", directory: classifierDirectory.path), .init(name: "only", directory: classifierDirectory.path)])
        XCTAssertEqual(loaded.maxInputs, 2)
        XCTAssertEqual(loaded.maxBatchTokens, 512)
        XCTAssertFalse(loaded.truncate)
        loaded.port = 0
        let (_, port) = try await start(loaded)
        let answer = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "only", "inputs": "good"])
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.json["model"] as? String, "only")
        XCTAssertEqual(try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "only", "inputs": ["a", "b", "c"]]).status, 400)
        let routes = try XCTUnwrap(try HTTPTestClient.get(port: port, path: "/info").json["routes"] as? [String: Any])
        XCTAssertEqual(((routes["sentiment"] as? [String: Any])?["ab"] as? [String: Double])?["only"], 1.0)
    }
}

@testable import FTServe
import Foundation
import TestSupport
import XCTest

/// Every bad request of the contract gets its status, `error_type` and a message naming the
/// problem; the server keeps answering afterwards.
final class ServeErrorTests: ServeTestCase {
    private func assertError(
        _ response: HTTPTestClient.Response, _ status: Int, _ type: String, mentions needle: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        XCTAssertEqual(response.json["error_type"] as? String, type, response.text, file: file, line: line)
        let message = response.json["error"] as? String ?? ""
        XCTAssertTrue(message.contains(needle), "\"\(message)\" does not mention \"\(needle)\"", file: file, line: line)
        XCTAssertEqual(response.headers["content-type"], "application/json", file: file, line: line)
        XCTAssertNotNil(response.headers["x-request-id"], file: file, line: line)
    }

    func testBadRequestsGetTheirStatusAndMessage() async throws {
        let (_, port) = try await start(
            configuration {
                $0.maxInputs = 4
                $0.maxBodyBytes = 4096
            })
        func raw(_ path: String, _ body: String) throws -> HTTPTestClient.Response {
            try HTTPTestClient.send(port: port, path: path, body: Data(body.utf8))
        }
        func post(_ path: String, _ json: [String: Any]) throws -> HTTPTestClient.Response {
            try HTTPTestClient.post(port: port, path: path, json: json)
        }
        assertError(try raw("/v1/predict", "{\"model\": \"classifier\", \"inputs\": "), 400, "validation", mentions: "malformed JSON")
        assertError(try raw("/v1/predict", ""), 400, "validation", mentions: "malformed JSON")
        assertError(try raw("/v1/predict", "[\"a\"]"), 400, "validation", mentions: "JSON object")
        assertError(try post("/v1/predict", ["model": "classifier"]), 400, "validation", mentions: "missing field inputs")
        assertError(try post("/v1/predict", ["model": "classifier", "inputs": 5]), 400, "validation", mentions: "inputs")
        assertError(try post("/v1/predict", ["model": "classifier", "inputs": ["ok", 7]]), 400, "validation", mentions: "inputs[1]")
        assertError(try post("/v1/predict", ["model": "classifier", "inputs": [["a", "b", "c"]]]), 400, "validation", mentions: "inputs[0]")
        assertError(try post("/v1/predict", ["model": 3, "inputs": "good"]), 400, "validation", mentions: "model")
        assertError(try post("/v1/predict", ["model": "classifier", "inputs": [String]()]), 400, "validation", mentions: "inputs: empty list")
        assertError(
            try post("/v1/predict", ["model": "classifier", "inputs": ["a", "b", "c", "d", "e"]]), 400, "validation",
            mentions: "5 texts, more than max_inputs 4")
        assertError(try post("/v1/predict", ["inputs": "good"]), 400, "validation", mentions: "missing field model")
        assertError(try post("/v1/predict", ["model": "encoder", "inputs": "good"]), 400, "validation", mentions: "embedder")
        assertError(try post("/v1/predict", ["model": "nope", "inputs": "good"]), 404, "not_found", mentions: "model \"nope\" is not served")
        assertError(try post("/v1/embed", ["model": "encoder", "inputs": "good", "pooling": "max"]), 400, "validation", mentions: "pooling")
        assertError(try post("/v1/embed", ["model": "encoder", "inputs": "good", "normalize": "yes"]), 400, "validation", mentions: "normalize")
        assertError(try post("/v1/nothing", ["inputs": "good"]), 404, "not_found", mentions: "no such route")
        assertError(try HTTPTestClient.get(port: port, path: "/v1/predict"), 404, "not_found", mentions: "no such route")
        let big = "{\"model\": \"classifier\", \"inputs\": \"\(String(repeating: "good ", count: 1000))\"}"
        assertError(try raw("/v1/predict", big), 413, "too_large", mentions: "max_body_bytes (4096 bytes)")
        // Still serving.
        let ok = try post("/v1/predict", ["model": "classifier", "inputs": ["good", "bad"]])
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual((ok.json["predictions"] as? [Any])?.count, 2)
    }

    /// Over-long text: cut to max_length by default (the tokens say so), 400 with truncation off.
    func testOverLongTextTruncatedOrRefused() async throws {
        let long = String(repeating: "good ", count: 40)
        let (_, truncating) = try await start(configuration { $0.maxLength = 16 })
        let tokens = try HTTPTestClient.post(port: truncating, path: "/v1/tokenize", json: ["model": "classifier", "inputs": long])
        XCTAssertEqual(tokens.status, 200, tokens.text)
        let first = try XCTUnwrap((tokens.json["tokens"] as? [[String: Any]])?.first)
        XCTAssertEqual((first["ids"] as? [Int])?.count, 16)
        XCTAssertEqual((first["tokens"] as? [String])?.first, "[CLS]")
        XCTAssertEqual((first["tokens"] as? [String])?.last, "[SEP]")
        XCTAssertEqual(try HTTPTestClient.post(port: truncating, path: "/v1/predict", json: ["model": "classifier", "inputs": long]).status, 200)

        let (_, strict) = try await start(
            configuration {
                $0.maxLength = 16
                $0.truncate = false
            })
        assertError(
            try HTTPTestClient.post(port: strict, path: "/v1/predict", json: ["model": "classifier", "inputs": ["good", long]]), 400,
            "validation", mentions: "inputs[1]: 42 tokens, more than max_length 16")
        XCTAssertEqual(try HTTPTestClient.post(port: strict, path: "/v1/predict", json: ["model": "classifier", "inputs": "good"]).status, 200)
    }

    /// More than max_concurrent_requests in flight: the extra requests get 429 at once, the others
    /// their answer. A 400 ms wait window keeps the first two in flight while the others arrive.
    func testOverloadAnswers429() async throws {
        let (_, port) = try await start(
            configuration {
                $0.maxConcurrentRequests = 2
                $0.maxWaitMilliseconds = 400
            })
        let answers = try await concurrently(6) { i in
            if i >= 2 { Thread.sleep(forTimeInterval: 0.1) }  // the first two are surely in flight by then
            return try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "good \(i)"])
        }
        XCTAssertEqual(answers.prefix(2).map(\.status), [200, 200])
        for response in answers.dropFirst(2) {
            assertError(response, 429, "overloaded", mentions: "more than 2 requests in flight")
        }
        let health = try HTTPTestClient.get(port: port, path: "/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "good"]).status, 200)
    }

    /// 300 mutated request bodies (AFL-style: bit flips, deep nesting, huge numbers, invalid UTF-8,
    /// spliced fields) to the inference routes: each answered with 200 or a 4xx JSON error, never
    /// 500 and never a dropped connection; the server answers normally afterwards.
    func testFuzzedBodiesNeverFailTheServer() async throws {
        let (_, port) = try await start(configuration { $0.maxBodyBytes = 8192 })
        let seeds = [
            #"{"model": "classifier", "inputs": ["the movie was good", ["a film", "a story"]]}"#,
            #"{"model": "encoder", "inputs": "a film", "pooling": "cls", "normalize": false}"#,
            #"{"model": "lora", "inputs": [["good", "bad"]]}"#,
        ].map { Array($0.utf8) }
        var mutator = Mutator(
            seed: 17, seeds: seeds, dictionary: ["\"model\"", "\"inputs\"", "\"pooling\"", "null", "[[", "{}", "1e999", "\"\\u0000\""],
            text: true, maxLength: 12000)
        let routes = ["/v1/predict", "/v1/embed", "/v1/tokenize"]
        var statuses: [Int: Int] = [:]
        for i in 0..<300 {
            let body = Data(mutator.next())
            let response = try HTTPTestClient.send(port: port, path: routes[i % 3], body: body)
            statuses[response.status, default: 0] += 1
            XCTAssertTrue([200, 400, 404, 413].contains(response.status), "case \(i): \(response.status) \(response.text)")
            if response.status != 200 {
                XCTAssertNotNil(response.json["error"] as? String, "case \(i): \(response.text)")
            }
        }
        XCTAssertGreaterThan(statuses[200] ?? 0, 10, "the mutations keep some bodies valid: \(statuses)")
        XCTAssertGreaterThan(statuses[400] ?? 0, 100, "\(statuses)")
        let ok = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "good"])
        XCTAssertEqual(ok.status, 200)
    }

    /// A bad setting or model directory stops the server from starting, with a message naming it.
    func testBadConfigurationIsRefused() throws {
        XCTAssertThrowsError(try ServeServer(configuration: configuration { $0.adapters = [.init(name: "x", base: "missing", directory: "/tmp")] })) {
            XCTAssertTrue("\($0)".contains("base missing is not a served --model"), "\($0)")
        }
        XCTAssertThrowsError(try ServeServer(configuration: configuration { $0.models.append(.init(name: "gone", directory: "/no/such/dir")) })) {
            XCTAssertTrue("\($0)".contains("/no/such/dir: no such directory"), "\($0)")
        }
        XCTAssertThrowsError(try ServeConfiguration.parseAdapter("x=nodir")) { XCTAssertTrue("\($0)".contains("NAME=BASE:DIR")) }
        let yaml = directory.appendingPathComponent("serve.yaml")
        try "models: {a: /x}\nmax_batch_tokenz: 3\n".write(to: yaml, atomically: true, encoding: .utf8)
        var loaded = ServeConfiguration()
        XCTAssertThrowsError(try loaded.load(yamlFile: yaml.path)) { XCTAssertTrue("\($0)".contains("unknown setting max_batch_tokenz"), "\($0)") }
    }
}

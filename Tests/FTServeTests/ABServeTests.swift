import FTCore
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// A/B routes on a real loopback server: a request naming the route goes to the arm its client's
/// key hashes to (the arm computed here from the split's definition), the answer says which in
/// `x-ab-arm`, `/metrics` counts each arm, every prediction is logged under its request id;
/// `/v1/feedback` and `/v1/ab` (checked against `ABReport` of the log file, and `fttrain ab-report`
/// on the same file); feedback for a prediction served before a restart; the refusals.
final class ABServeTests: ServeTestCase {
    private var logPath: String { directory.appendingPathComponent("ab.jsonl").path }

    /// `classifier` and `classifier-b` (the same directory, so the same labels) behind route
    /// `sentiment`, 50/50, sticky by `x-client-id`; logging to `ab.jsonl`.
    private func abConfiguration(_ change: (inout ServeConfiguration) -> Void = { _ in }) -> ServeConfiguration {
        configuration {
            $0.models.append(.init(name: "classifier-b", directory: classifierDirectory.path))
            $0.routes = ["sentiment": #"{"ab":{"classifier":0.5,"classifier-b":0.5},"sticky_header":"x-client-id"}"#]
            $0.abLog = logPath
            change(&$0)
        }
    }

    /// The arm of a client, from the definition: SHA-256 position of "sentiment/" + key against 0.5.
    private func expectedArm(_ client: String) -> String {
        ABSplit.position(of: "sentiment/" + client) < 0.5 ? "classifier" : "classifier-b"
    }

    private static func predict(_ port: Int, _ text: String, client: String?) throws -> HTTPTestClient.Response {
        try HTTPTestClient.post(
            port: port, path: "/v1/predict", json: ["model": "sentiment", "inputs": text], headers: client.map { ["x-client-id": $0] } ?? [:])
    }

    func testStickyArmsHeaderMetricsAndLog() async throws {
        let (server, port) = try await start(abConfiguration())
        let clients = (0..<24).map { "client-\($0)" }
        let answers = try await concurrently(clients.count) { i in
            try (0..<3).map { r in (clients[i], try ABServeTests.predict(port, "the movie was good \(r)", client: clients[i])) }
        }
        var sent: [String: Int] = [:]
        var ids: [String: String] = [:]  // request id -> arm
        for (client, response) in answers.joined() {
            XCTAssertEqual(response.status, 200, response.text)
            let arm = try XCTUnwrap(response.headers["x-ab-arm"], "no x-ab-arm")
            XCTAssertEqual(arm, expectedArm(client), client)
            XCTAssertEqual(response.json["model"] as? String, arm)
            XCTAssertEqual(response.headers["x-request-id"], response.json["id"] as? String)
            ids[try XCTUnwrap(response.json["id"] as? String)] = arm
            sent[arm, default: 0] += 1
        }
        XCTAssertEqual(sent.count, 2, "24 clients all hashed to one arm: \(sent)")
        // Without the header each request is drawn: 40 draws land on both arms (fails with p = 2^-39).
        var drawn = Set<String>()
        for i in 0..<40 {
            let response = try Self.predict(port, "a story \(i)", client: nil)
            XCTAssertEqual(response.status, 200, response.text)
            let arm = try XCTUnwrap(response.headers["x-ab-arm"])
            drawn.insert(arm)
            ids[try XCTUnwrap(response.json["id"] as? String)] = arm
            sent[arm, default: 0] += 1
        }
        XCTAssertEqual(drawn, ["classifier", "classifier-b"])
        // A plain model request is not A/B: no header, not logged.
        let plain = try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["model": "classifier", "inputs": "fine"])
        XCTAssertEqual(plain.status, 200)
        XCTAssertNil(plain.headers["x-ab-arm"])

        let samples = try PrometheusSamples(try HTTPTestClient.get(port: port, path: "/metrics").text)
        for arm in ["classifier", "classifier-b"] {
            XCTAssertEqual(samples.value("fttrain_ab_requests_total", ["route": "sentiment", "arm": arm]), Double(sent[arm]!), arm)
            // The server's own request counter labels the request with the arm's model.
            XCTAssertGreaterThanOrEqual(
                samples.value("fttrain_requests_total", ["model": arm, "route": "/v1/predict", "status": "200"]) ?? 0, Double(sent[arm]!))
        }
        // Every A/B request is in the log under its request id, with its arm.
        let ledger = try ABLogReader.read(path: logPath).ledger
        XCTAssertEqual(ledger.entries.count, ids.count)
        for (id, arm) in ids {
            XCTAssertEqual(ledger[id]?.prediction.arm, arm, id)
            XCTAssertEqual(ledger[id]?.prediction.route, "sentiment")
        }
        XCTAssertEqual(server.metrics.text().contains("fttrain_ab_requests_total"), true)
    }

    func testFeedbackReportAndRefusals() async throws {
        let (_, port) = try await start(abConfiguration())
        // 30 requests; feedback says the prediction was right for every third, wrong otherwise.
        var expected: [String: (n: Int, correct: Int)] = [:]
        for i in 0..<30 {
            let response = try Self.predict(port, Self.texts(30, seed: 5)[i].0, client: "c\(i)")
            XCTAssertEqual(response.status, 200, response.text)
            let id = try XCTUnwrap(response.json["id"] as? String)
            let arm = try XCTUnwrap(response.headers["x-ab-arm"])
            let predicted = try XCTUnwrap((response.json["predictions"] as? [[String: Any]])?.first?["label"] as? String)
            let right = i % 3 == 0
            let truth = right ? predicted : Self.labels.first { $0 != predicted }!
            let feedback = try HTTPTestClient.post(port: port, path: "/v1/feedback", json: ["id": id, "label": truth])
            XCTAssertEqual(feedback.status, 200, feedback.text)
            XCTAssertEqual(feedback.json["arm"] as? String, arm)
            XCTAssertEqual(feedback.json["correct"] as? [Bool], [right])
            expected[arm, default: (0, 0)].n += 1
            if right { expected[arm, default: (0, 0)].correct += 1 }
        }
        let report = try HTTPTestClient.get(port: port, path: "/v1/ab?route=sentiment")
        XCTAssertEqual(report.status, 200, report.text)
        let route = try XCTUnwrap((report.json["routes"] as? [[String: Any]])?.first)
        XCTAssertEqual(route["route"] as? String, "sentiment")
        for arm in try XCTUnwrap(route["arms"] as? [[String: Any]]) {
            let name = try XCTUnwrap(arm["arm"] as? String)
            XCTAssertEqual(arm["n"] as? Int, expected[name]?.n ?? 0, name)
            XCTAssertEqual(arm["correct"] as? Int, expected[name]?.correct ?? 0, name)
        }
        // The served report is the log file's report.
        let fromFile = ABReport(ledger: try ABLogReader.read(path: logPath).ledger, route: "sentiment").json
        XCTAssertEqual(report.text, fromFile)
        let command = try FTTrainProcess.run(["ab-report", "--log", logPath, "--json"])
        XCTAssertEqual(command.status, 0, command.stderr)
        XCTAssertEqual(command.stdout, fromFile + "\n")

        // Refusals: status, error_type and a message naming the problem.
        let first = try XCTUnwrap(try ABLogReader.read(path: logPath).ledger.order.first)
        let cases: [(Any, Int, String, String)] = [
            (["id": "no-such-id", "label": "pos"], 404, "not_found", "no A/B prediction was served with request id \"no-such-id\""),
            (["id": first, "label": "great"], 400, "validation", "label \"great\" is not a label of model"),
            (["id": first], 400, "validation", "missing field label"),
            (["id": first, "labels": ["pos", "neg"]], 400, "validation", "had 1 inputs but the feedback has 2 labels"),
            (["id": first, "label": "pos", "labels": ["pos"]], 400, "validation", "give label or labels, not both"),
            (["label": "pos"], 400, "validation", "missing field id"),
        ]
        for (body, status, type, message) in cases {
            let response = try HTTPTestClient.post(port: port, path: "/v1/feedback", json: body)
            XCTAssertEqual(response.status, status, "\(body): \(response.text)")
            XCTAssertEqual(response.json["error_type"] as? String, type, "\(body)")
            XCTAssertTrue((response.json["error"] as? String ?? "").contains(message), "\(body): \(response.text)")
        }
        let malformed = try HTTPTestClient.send(port: port, path: "/v1/feedback", body: Data("{\"id\": ".utf8))
        XCTAssertEqual(malformed.status, 400, malformed.text)
        let unknownRoute = try HTTPTestClient.get(port: port, path: "/v1/ab?route=nope")
        XCTAssertEqual(unknownRoute.status, 404, unknownRoute.text)
        XCTAssertEqual(unknownRoute.json["error"] as? String, "no A/B route nope (routes: sentiment)")
        let embed = try HTTPTestClient.post(port: port, path: "/v1/embed", json: ["model": "sentiment", "inputs": "x"])
        XCTAssertEqual(embed.status, 400, embed.text)
        XCTAssertEqual(embed.json["error"] as? String, "\"sentiment\" is an A/B route: it serves /v1/predict only")
    }

    func testFeedbackAfterRestartAndInMemoryLog() async throws {
        let (first, port) = try await start(abConfiguration())
        let response = try Self.predict(port, "the film was dull", client: "c1")
        let id = try XCTUnwrap(response.json["id"] as? String)
        await first.shutdown()
        // A new server on the same log accepts feedback for the old request.
        let (_, again) = try await start(abConfiguration())
        let feedback = try HTTPTestClient.post(port: again, path: "/v1/feedback", json: ["id": id, "label": "neg"])
        XCTAssertEqual(feedback.status, 200, feedback.text)
        XCTAssertEqual(feedback.json["arm"] as? String, expectedArm("c1"))
        XCTAssertEqual(try ABLogReader.read(path: logPath).ledger[id]?.trueLabels, ["neg"])
        // Without ab_log the log is in memory: feedback and /v1/ab work, nothing is written.
        let (_, memory) = try await start(abConfiguration { $0.abLog = nil })
        let answer = try Self.predict(memory, "good", client: "c2")
        let memoryId = try XCTUnwrap(answer.json["id"] as? String)
        XCTAssertEqual(try HTTPTestClient.post(port: memory, path: "/v1/feedback", json: ["id": memoryId, "label": "pos"]).status, 200)
        let report = try HTTPTestClient.get(port: memory, path: "/v1/ab")
        let arms = try XCTUnwrap((report.json["routes"] as? [[String: Any]])?.first?["arms"] as? [[String: Any]])
        XCTAssertEqual(arms.map { $0["n"] as? Int ?? -1 }.reduce(0, +), 1)
        XCTAssertNil(try ABLogReader.read(path: logPath).ledger[memoryId])
    }

    func testBadRoutesAreRefusedAtStart() {
        func message(_ routes: [String: String]) -> String {
            do {
                _ = try ServeServer(configuration: abConfiguration { $0.routes = routes })
                return "started"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(
            message(["r": #"{"ab":{"classifier":1,"nope":1}}"#]),
            "A/B route r: arm nope is not a served model (served: classifier, encoder, classifier-b, lora)")
        XCTAssertEqual(message(["r": #"{"ab":{"classifier":1,"encoder":1}}"#]), "A/B route r: arm encoder is an embedder; arms must be classifiers")
        XCTAssertEqual(
            message(["classifier": #"{"ab":{"classifier":1,"lora":1}}"#]),
            "A/B route classifier: a served model has the same name; requests could not tell them apart")
        XCTAssertEqual(message(["r": #"{"ab":{"classifier":1}}"#]), "serve configuration: A/B route r: 1 arm; at least 2 are needed")
        XCTAssertEqual(message(["r": #"{"ab":{"classifier":1,"lora":1}}"#]), "started")
    }

    /// The command: `routes:` in serve.yaml and `--ab-log`, the route in /info, the log written.
    func testServeCommandWithYAMLRoutes() async throws {
        let yaml = directory.appendingPathComponent("serve.yaml").path
        try """
        models: {a: \(classifierDirectory.path), b: \(classifierDirectory.path)}
        routes:
          sentiment: {ab: {a: 0.9, b: 0.1}, sticky_header: X-Client-Id}
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let executable = TestAssets.fttrainExecutable
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--config", yaml, "--port", "0", "--threads", "1", "--ab-log", logPath]
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let port = try XCTUnwrap(Int(text.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""), text)
        let split = try ABSplit(weights: ["a": 0.9, "b": 0.1], salt: "sentiment/")
        for client in ["u1", "u2", "u3", "u4", "u5", "u6"] {
            let response = try HTTPTestClient.post(
                port: port, path: "/v1/predict", json: ["model": "sentiment", "inputs": "good"], headers: ["X-CLIENT-ID": client])
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.headers["x-ab-arm"], split.arm(forKey: client), client)
        }
        let info = try HTTPTestClient.get(port: port, path: "/info")
        let routes = try XCTUnwrap(info.json["routes"] as? [String: Any])
        XCTAssertNotNil(routes["sentiment"], info.text)
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(try ABLogReader.read(path: logPath).recordCount, 6)
    }
}

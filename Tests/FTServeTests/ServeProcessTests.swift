import Foundation
import TestSupport
import XCTest

/// The built `fttrain serve` binary as a user runs it: the listening line, answers equal to
/// `fttrain predict`'s output, and SIGTERM with requests in flight (each answered, exit 0).
final class ServeProcessTests: ServeTestCase {
    /// A running `fttrain serve` and its port.
    private struct ServerProcess {
        let process: Process
        let port: Int
        let stderr: Pipe
    }

    private func launch(_ arguments: [String]) throws -> ServerProcess {
        let executable = TestAssets.fttrainExecutable
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            XCTFail("fttrain not built at \(executable.path): run `swift build` before `swift test`")
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--port", "0", "--threads", "1"] + arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // The one line `fttrain serve: listening on http://HOST:PORT`.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("fttrain serve: listening on http://127.0.0.1:"),
            let port = Int(text.split(separator: ":").last!.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            process.waitUntilExit()
            let stderr = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw HTTPTestClient.Failure(description: "no listening line, got \"\(text)\"; stderr: \(stderr)")
        }
        return ServerProcess(process: process, port: port, stderr: error)
    }

    /// The served probabilities equal, as printed, what `fttrain predict` prints for the same texts.
    func testServedAnswersEqualPredictCommand() async throws {
        let server = try launch(["--model", "c=\(classifierDirectory.path)"])
        defer {
            server.process.terminate()
            server.process.waitUntilExit()
        }
        let texts = Self.texts(12, seed: 21).map(\.0)
        let predicted = try FTTrainProcess.run(
            ["predict", "--model-dir", classifierDirectory.path, "--threads", "1"], stdin: texts.joined(separator: "\n") + "\n")
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let lines = predicted.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, texts.count)
        let answers = try await concurrently(texts.count) { i in
            try HTTPTestClient.post(port: server.port, path: "/v1/predict", json: ["inputs": texts[i]])
        }
        for (i, answer) in answers.enumerated() {
            XCTAssertEqual(answer.status, 200, answer.text)
            let prediction = try XCTUnwrap((answer.json["predictions"] as? [[String: Any]])?.first)
            XCTAssertEqual(prediction["label"] as? String, lines[i]["label"] as? String)
            let got = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
            let want = try XCTUnwrap(lines[i]["probabilities"] as? [String: Double])
            for label in Self.labels { XCTAssertEqual(Float(got[label]!), Float(want[label]!), accuracy: 1e-6, "text \(i) \(label)") }
        }
    }

    /// SIGTERM while 8 requests wait in the queue (a 3 s wait window holds them): every one is
    /// answered 200 with its prediction, and the process exits 0 and listens no more.
    func testSIGTERMFinishesRequestsInFlight() async throws {
        let server = try launch(["--model", "c=\(classifierDirectory.path)", "--max-wait-ms", "3000"])
        let port = server.port
        let clients = Task {
            try await concurrently(8) { i in
                try HTTPTestClient.post(port: port, path: "/v1/predict", json: ["inputs": ["good \(i)", "bad"]])
            }
        }
        // Wait until all 8 are queued (the metrics say so), then send SIGTERM.
        let deadline = Date().addingTimeInterval(10)
        var queued = 0.0
        while queued < 8, Date() < deadline {
            let metrics = try HTTPTestClient.get(port: port, path: "/metrics")
            queued = try PrometheusSamples(metrics.text).value("fttrain_queue_depth", ["model": "c"]) ?? 0
            if queued < 8 { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        XCTAssertEqual(queued, 8, "the 8 requests were not all queued")
        kill(server.process.processIdentifier, SIGTERM)
        let answers = try await clients.value
        for answer in answers {
            XCTAssertEqual(answer.status, 200, answer.text)
            XCTAssertEqual((answer.json["predictions"] as? [Any])?.count, 2)
        }
        let exited = Date().addingTimeInterval(15)
        while server.process.isRunning, Date() < exited { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertFalse(server.process.isRunning, "fttrain serve did not exit after SIGTERM")
        if server.process.isRunning {
            server.process.terminate()
            return
        }
        let stderr = String(decoding: server.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(server.process.terminationReason, .exit, stderr)
        XCTAssertEqual(server.process.terminationStatus, 0, stderr)
        XCTAssertThrowsError(try HTTPTestClient.get(port: port, path: "/health"), "nothing listens after the exit")
    }
}

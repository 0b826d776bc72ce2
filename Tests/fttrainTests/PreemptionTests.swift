import Foundation
import TestSupport
import XCTest

/// `fttrain train` under SIGTERM (what Slurm sends before pre-empting a job): the run writes a
/// checkpoint at the next step boundary and exits with 143 (128 + 15), and `--resume-from latest`
/// continues it to the end; `--resume-from` with nothing to resume from is a clear error.
final class PreemptionTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-preempt-\(UUID().uuidString)")
        try TinyModelDirectory.write(
            to: directory.appendingPathComponent("model"),
            words: ["good", "bad", "movie", "was", "the", "plot", "man"])
        var lines = ["label,text"]
        for i in 0..<60 { lines.append(i % 2 == 0 ? "fresh,the movie was good \(i)" : "rotten,the movie was bad \(i)") }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    var arguments: [String] {
        [
            "train", "--model-dir", directory.appendingPathComponent("model").path,
            "--train-file", directory.appendingPathComponent("train.csv").path, "--output-dir", directory.appendingPathComponent("out").path,
            "--max-steps", "400", "--per-device-train-batch-size", "4", "--max-length", "12", "--logging-steps", "1",
            "--save-steps", "100000", "--seed", "2",
        ]
    }

    func testSIGTERMCheckpointsAndExits143ThenResumeFinishes() throws {
        let process = Process()
        process.executableURL = TestAssets.fttrainExecutable
        process.arguments = arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let log = directory.appendingPathComponent("out/log.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.split(separator: "\n").count >= 10 { break }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGTERM)
        let stderr = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 143, stderr)
        XCTAssertTrue(stderr.contains("received SIGTERM"), stderr)
        XCTAssertTrue(stderr.contains("stopped by signal 15 after step"), stderr)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("out").path)
            .filter { $0.hasPrefix("checkpoint-") }
        XCTAssertEqual(checkpoints.count, 1, "\(checkpoints)")
        let checkpoint = directory.appendingPathComponent("out").appendingPathComponent(checkpoints.first ?? "none")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("DONE").path))
        let step = Int(checkpoints.first?.dropFirst("checkpoint-".count) ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(step, 10)
        XCTAssertLessThan(step, 400, "the signal came before the end")

        let resumed = try FTTrainProcess.run(arguments + ["--resume-from", "latest"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed from \(checkpoint.path) at step \(step)"), resumed.stderr)
        let steps = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").compactMap { line -> Int? in
            let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return record?["loss"] != nil ? record?["step"] as? Int : nil
        }
        XCTAssertEqual(steps, Array(1...400), "one log line per step, none lost or repeated across the resume")
    }

    func testResumeWithoutCheckpointIsAnError() throws {
        let result = try FTTrainProcess.run(arguments + ["--resume-from", "latest"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no checkpoint-* directory in \(directory.appendingPathComponent("out").path)"), result.stderr)
        let missing = try FTTrainProcess.run(arguments + ["--resume-from", directory.appendingPathComponent("nowhere").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nowhere") && missing.stderr.contains("no such directory"), missing.stderr)
    }
}

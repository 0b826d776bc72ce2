import Foundation
import TestSupport
import XCTest

/// Runs the built `fttrain` binary as a user would (design.md §3.8).
final class CommandLineTests: XCTestCase {
    func run(_ arguments: [String], stdin: String = "") throws -> FTTrainProcess.Result {
        try FTTrainProcess.run(arguments, stdin: stdin)
    }

    func testHelpListsCommands() throws {
        let r = try run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("tokenize") && r.stdout.contains("embed"), r.stdout)
    }

    func testUnknownFlagFails() throws {
        let r = try run(["tokenize", "--model-dir", "/tmp", "--no-such-flag"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no-such-flag"), r.stderr)
    }

    func testMissingModelDirectoryIsNamed() throws {
        let r = try run(["embed", "--model-dir", "/nonexistent/model"], stdin: "hello\n")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("/nonexistent/model"), r.stderr)
    }

    func testBrokenModelDirectoryIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".write(to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try "{\"hidden_size\": 8}".write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let r = try run(["embed", "--model-dir", directory.path], stdin: "hello\n")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("config.json") && r.stderr.contains("vocab_size"), r.stderr)
    }

    func testTokenizeAndEmbedRealModel() throws {
        let model = try TestAssets.realModelDirectory().path
        let tokens = try run(["tokenize", "--model-dir", model], stdin: "A man is eating food.\nHello world\n")
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
        XCTAssertEqual(tokens.stdout, "[101, 1037, 2158, 2003, 5983, 2833, 1012, 102]\n[101, 7592, 2088, 102]\n")

        let truncated = try run(["tokenize", "--model-dir", model, "--max-length", "4"], stdin: "A man is eating food.\n")
        XCTAssertEqual(truncated.stdout, "[101, 1037, 2158, 102]\n")

        let embedded = try run(
            ["embed", "--model-dir", model, "--normalize"],
            stdin: "A man is eating food.\nA much longer second line to force padding in the batch.\n")
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let rows = try embedded.stdout.split(separator: "\n").map {
            try JSONDecoder().decode([Float].self, from: Data($0.utf8))
        }
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0].count, 384)
        assertClose(Array(rows[0][0..<5]), [0.03324, 0.00441, -0.00628, 0.04838, -0.1387], atol: 6e-6, rtol: 0, "embed row 0")
        XCTAssertEqual(rows[1].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5, "normalised")

        let cls = try run(["embed", "--model-dir", model, "--pooling", "cls"], stdin: "A man is eating food.\n")
        XCTAssertEqual(cls.status, 0, cls.stderr)
        XCTAssertNotEqual(cls.stdout, embedded.stdout.split(separator: "\n")[0] + "\n")
    }

    func testInvalidUTF8IsReported() throws {
        let model = try TestAssets.realModelDirectory().path
        let r = try FTTrainProcess.run(["tokenize", "--model-dir", model], stdin: Data([0x6F, 0x6B, 0x0A, 0xFF, 0xFE, 0x0A]))
        let err = r.stderr
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(err.contains("line 2") && err.contains("UTF-8"), err)
    }
}

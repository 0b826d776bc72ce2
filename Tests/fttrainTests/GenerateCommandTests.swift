import Foundation
import TestSupport
import XCTest

/// `fttrain generate`'s flags and errors, by running the binary.
final class GenerateCommandTests: XCTestCase {
    func run(_ arguments: [String], stdin: String = "") throws -> FTTrainProcess.Result {
        try FTTrainProcess.run(["generate"] + arguments, stdin: stdin)
    }

    func testBadFlagsFailWithAClearMessage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-generate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.path
        let cases: [([String], String)] = [
            (["--model", model], "--prompt"),
            (["--model", model, "--prompt", "a", "--input", "b.txt"], "not both"),
            (["--model", "/nonexistent/model.gguf", "--prompt", "a"], "/nonexistent/model.gguf"),
            (["--model", model, "--prompt", "a", "--top-p", "0"], "--top-p"),
            (["--model", model, "--prompt", "a", "--do-sample", "--temperature", "-1"], "temperature"),
            (["--model", model, "--prompt", "a", "--max-new-tokens", "0"], "--max-new-tokens"),
            (["--model", model, "--input", "/nonexistent/prompts.txt"], "/nonexistent/prompts.txt"),
            (["--model", model, "--prompt", "a", "--adapter", "/nonexistent/adapter"], "/nonexistent/adapter"),
        ]
        for (arguments, needle) in cases {
            let r = try run(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue(r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
        // An encoder directory is not a decoder model: named, with what is expected.
        try #"{"model_type": "bert", "architectures": ["BertModel"]}"#.write(
            to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let encoder = try run(["--model", model, "--prompt", "a"])
        XCTAssertNotEqual(encoder.status, 0)
        XCTAssertTrue(encoder.stderr.contains(model) && encoder.stderr.contains("not a decoder"), encoder.stderr)
    }

    func testHelpListsTheSamplingFlags() throws {
        let r = try run(["--help"])
        XCTAssertEqual(r.status, 0)
        for flag in [
            "--model", "--adapter", "--prompt", "--input", "--chat", "--max-new-tokens", "--do-sample", "--temperature", "--top-k", "--top-p",
            "--seed", "--threads",
        ] {
            XCTAssertTrue(r.stdout.contains(flag), flag)
        }
    }
}

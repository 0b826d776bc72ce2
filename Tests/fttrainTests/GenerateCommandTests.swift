import FTCore
import FTModel
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

    /// A tiny random Llama directory: streamed, file and chat outputs equal the in-process greedy generation.
    func testGeneratesAsTheInProcessGenerator() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-generate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("model")
        try TinyLlamaDirectory.write(to: model)
        let llama = try LlamaModel.load(modelDirectory: model)
        let tokenizer = try ByteLevelBPETokenizer.load(directory: model)
        let generator = TextGenerator(model: llama, tokenizer: tokenizer)
        func expected(_ prompt: String, _ maxNewTokens: Int = 6) throws -> String {
            var sampler = LogitsSampler(settings: SamplingSettings())
            return try generator.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampler: &sampler).text
        }
        let plain = try run(["--model", model.path, "--prompt", "hello world", "--max-new-tokens", "6"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, try expected("hello world") + "\n")

        let chatPrompt = try tokenizer.applyChatTemplate([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
        let chat = try run(["--model", model.path, "--prompt", "hi", "--chat", "--max-new-tokens", "6"])
        XCTAssertEqual(chat.stdout, try expected(chatPrompt) + "\n")

        let input = directory.appendingPathComponent("prompts.jsonl")
        try (#"{"prompt": "hello world"}"# + "\n\n" + #"{"messages": [{"role": "user", "content": "hi"}]}"# + "\n")
            .write(to: input, atomically: true, encoding: .utf8)
        let file = try run(["--model", model.path, "--input", input.path, "--max-new-tokens", "6"])
        XCTAssertEqual(file.status, 0, file.stderr)
        let rows = try file.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["generated"] as? String }, [try expected("hello world"), try expected(chatPrompt)])
        XCTAssertEqual(rows.first?["prompt"] as? String, "hello world")

        // Sampling: the same seed gives the same text, another seed (almost surely) another.
        let sampled = ["--model", model.path, "--prompt", "hello", "--do-sample", "--top-k", "0", "--max-new-tokens", "12"]
        let a = try run(sampled + ["--seed", "1"]), b = try run(sampled + ["--seed", "1"]), c = try run(sampled + ["--seed", "2"])
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertNotEqual(a.stdout, c.stdout)

        // An interactive chat keeps the conversation: the second answer is generated after the first.
        let interactive = try run(["--model", model.path, "--chat", "--max-new-tokens", "4"], stdin: "hi\nand you?\n")
        XCTAssertEqual(interactive.status, 0, interactive.stderr)
        let first = try expected(chatPrompt, 4)
        let second = try tokenizer.applyChatTemplate(
            [
                ChatMessage(role: "user", content: "hi"), ChatMessage(role: "assistant", content: first),
                ChatMessage(role: "user", content: "and you?"),
            ],
            addGenerationPrompt: true)
        let secondAnswer = try expected(second, 4)
        XCTAssertEqual(interactive.stdout, first + "\n" + secondAnswer + "\n")
    }

    /// The real SmolLM2 GGUF: `--chat` greedy output is transformers' (the reference of
    /// scripts/reference/make_smollm2_generate_reference.py, first case).
    func testSmolLM2ChatAnswerEqualsTransformers() throws {
        let gguf = try TestAssets.requireSmolLM2GGUF()
        let r = try run(["--model", gguf.path, "--chat", "--prompt", "What is the capital of France?", "--max-new-tokens", "24", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "The capital of France is Paris.\n")
    }
}

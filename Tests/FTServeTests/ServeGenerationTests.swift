import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// `/v1/generate` and `/v1/chat/completions` on a tiny random Llama: whole and streamed (SSE)
/// answers equal `TextGenerator`'s greedy generation, as `fttrain generate` runs it.
final class ServeGenerationTests: ServeTestCase {
    var llamaDirectory: URL { directory.appendingPathComponent("llama") }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try TinyLlamaDirectory.write(to: llamaDirectory)
    }

    private func serve() async throws -> Int { try await serveWithServer().1 }

    private func serveWithServer() async throws -> (ServeServer, Int) {
        try await start(configuration { $0.models.append(.init(name: "llm", directory: llamaDirectory.path)) })
    }

    /// Greedy generation in-process, as `fttrain generate` computes it.
    private func expected(_ prompt: String, maxNewTokens: Int, sampling: SamplingSettings = SamplingSettings()) throws -> TextGenerator.Output {
        let loaded = try CausalModelLoading.load(path: llamaDirectory.path)
        var sampler = LogitsSampler(settings: sampling)
        return try TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer).generate(
            prompt: prompt, maxNewTokens: maxNewTokens, sampler: &sampler)
    }

    /// The JSON objects of a server-sent-event body, and whether it ended with `data: [DONE]`.
    private func events(_ response: HTTPTestClient.Response) -> (objects: [[String: Any]], done: Bool) {
        var objects: [[String: Any]] = []
        var done = false
        for block in response.text.components(separatedBy: "\n\n") where block.hasPrefix("data: ") {
            let payload = String(block.dropFirst("data: ".count))
            if payload == "[DONE]" {
                done = true
            } else if let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] {
                objects.append(object)
            }
        }
        return (objects, done)
    }

    /// Sampled (top-k 20, seed 7): the parameters reach the sampler.
    func testGenerateWholeAndStreamedEqualTextGenerator() async throws {
        let port = try await serve()
        let parameters: [String: Any] = ["max_new_tokens": 12, "do_sample": true, "temperature": 0.8, "top_k": 20, "seed": 7]
        let want = try expected("hello there", maxNewTokens: 12, sampling: SamplingSettings(doSample: true, temperature: 0.8, topK: 20, seed: 7))
        XCTAssertGreaterThan(want.text.count, 1, "a generation of several tokens, streamed in several pieces")
        let whole = try HTTPTestClient.post(
            port: port, path: "/v1/generate", json: ["model": "llm", "inputs": "hello there", "parameters": parameters])
        XCTAssertEqual(whole.status, 200, whole.text)
        XCTAssertEqual(whole.json["generated_text"] as? String, want.text)
        XCTAssertEqual(whole.json["tokens"] as? Int, want.tokens.count)
        XCTAssertEqual(whole.json["prompt_tokens"] as? Int, want.promptTokens)
        XCTAssertEqual(whole.json["finish_reason"] as? String, want.stopped ? "stop" : "length")

        let streamed = try HTTPTestClient.post(
            port: port, path: "/v1/generate",
            json: ["model": "llm", "inputs": "hello there", "parameters": parameters, "stream": true])
        XCTAssertEqual(streamed.status, 200)
        XCTAssertEqual(streamed.headers["content-type"], "text/event-stream")
        let (objects, done) = events(streamed)
        XCTAssertTrue(done, streamed.text)
        let pieces = objects.dropLast().compactMap { $0["text"] as? String }
        XCTAssertEqual(pieces.count, objects.count - 1)
        XCTAssertGreaterThan(pieces.count, 1)
        XCTAssertEqual(pieces.joined(), want.text)
        XCTAssertEqual(objects.last?["generated_text"] as? String, want.text)
    }

    func testChatCompletionsWholeAndStreamed() async throws {
        let (server, port) = try await serveWithServer()
        let messages = [["role": "system", "content": "be brief"], ["role": "user", "content": "hi"]]
        let loaded = try CausalModelLoading.load(path: llamaDirectory.path)
        let prompt = try loaded.tokenizer.applyChatTemplate(
            [ChatMessage(role: "system", content: "be brief"), ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
        let want = try expected(prompt, maxNewTokens: 8)
        XCTAssertFalse(want.text.isEmpty)
        let whole = try HTTPTestClient.post(
            port: port, path: "/v1/chat/completions", json: ["model": "llm", "messages": messages, "max_tokens": 8, "temperature": 0])
        XCTAssertEqual(whole.status, 200, whole.text)
        XCTAssertEqual(whole.json["object"] as? String, "chat.completion")
        let choice = try XCTUnwrap((whole.json["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual((choice["message"] as? [String: Any])?["content"] as? String, want.text)
        XCTAssertEqual((choice["message"] as? [String: Any])?["role"] as? String, "assistant")
        XCTAssertEqual(choice["finish_reason"] as? String, want.stopped ? "stop" : "length")
        let usage = try XCTUnwrap(whole.json["usage"] as? [String: Int])
        XCTAssertEqual(usage["completion_tokens"], want.tokens.count)
        XCTAssertEqual(usage["total_tokens"], want.tokens.count + want.promptTokens)

        let streamed = try HTTPTestClient.post(
            port: port, path: "/v1/chat/completions",
            json: ["model": "llm", "messages": messages, "max_tokens": 8, "temperature": 0, "stream": true])
        let (chunks, done) = events(streamed)
        XCTAssertTrue(done)
        XCTAssertTrue(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
        XCTAssertEqual(deltas.joined(), want.text)
        XCTAssertEqual((chunks.last?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String, want.stopped ? "stop" : "length")
        XCTAssertEqual(
            ((chunks.first?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["role"] as? String, "assistant")
        // The stream held its max_concurrent_requests slot until written, then gave it back.
        for _ in 0..<100 where server.limits.current != 0 { try await Task.sleep(nanoseconds: 5_000_000) }
        XCTAssertEqual(server.limits.current, 0)
    }

    /// A LoRA adapter over the served Llama generates what `fttrain generate --adapter` does.
    func testAdapterOverCausalModel() async throws {
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["q_proj", "v_proj"], modulesToSave: [])
        let model = try ModelRegistry.load(modelDirectory: llamaDirectory, peft: PEFTSetup(lora: lora))
        var rng = SeededRNG(seed: 3)
        for view in model.store.views where lora.isTrainable(view.name, names: model.tensorNames) {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.5 * rng.nextNormal() }
        }
        let adapter = directory.appendingPathComponent("llama-adapter")
        try PEFTAdapter.write(model: model, to: adapter, baseModelName: llamaDirectory.path)
        let (_, port) = try await start(
            configuration {
                $0.models.append(.init(name: "llm", directory: llamaDirectory.path))
                $0.adapters.append(.init(name: "tuned", base: "llm", directory: adapter.path))
            })
        let loaded = try CausalModelLoading.load(path: llamaDirectory.path, adapter: adapter)
        var sampler = LogitsSampler(settings: SamplingSettings())
        let want = try TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer).generate(prompt: "hello", maxNewTokens: 10, sampler: &sampler)
        let answer = try HTTPTestClient.post(
            port: port, path: "/v1/generate", json: ["model": "tuned", "inputs": "hello", "parameters": ["max_new_tokens": 10]])
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.json["generated_text"] as? String, want.text)
        XCTAssertEqual(answer.json["tokens"] as? Int, want.tokens.count)
        let base = try HTTPTestClient.post(
            port: port, path: "/v1/generate", json: ["model": "llm", "inputs": "hello", "parameters": ["max_new_tokens": 10]])
        let baseWant = try expected("hello", maxNewTokens: 10)
        XCTAssertEqual(base.json["generated_text"] as? String, baseWant.text)
        XCTAssertNotEqual(want.tokens, baseWant.tokens, "the adapter changes the generation")
        let models = try XCTUnwrap(try HTTPTestClient.get(port: port, path: "/info").json["models"] as? [[String: Any]])
        XCTAssertEqual(models.first { $0["name"] as? String == "tuned" }?["base"] as? String, "llm")
    }

    func testGenerationErrorsAndInfo() async throws {
        let port = try await serve()
        func post(_ path: String, _ json: [String: Any]) throws -> HTTPTestClient.Response {
            try HTTPTestClient.post(port: port, path: path, json: json)
        }
        func assertError(_ response: HTTPTestClient.Response, _ status: Int, mentions needle: String, line: UInt = #line) {
            XCTAssertEqual(response.status, status, response.text, line: line)
            let message = response.json["error"] as? String ?? ""
            XCTAssertTrue(message.contains(needle), "\"\(message)\" does not mention \"\(needle)\"", line: line)
        }
        assertError(try post("/v1/chat/completions", ["model": "llm", "messages": [Any]()]), 400, mentions: "messages: empty list")
        assertError(
            try post("/v1/chat/completions", ["model": "llm", "messages": [["role": "robot", "content": "x"]]]), 400, mentions: "messages[0].role")
        assertError(
            try post("/v1/chat/completions", ["model": "llm", "messages": [["role": "user"]]]), 400, mentions: "missing field messages[0].content")
        assertError(
            try post("/v1/generate", ["model": "llm", "inputs": "hi", "parameters": ["max_new_tokens": 0]]), 400,
            mentions: "parameters.max_new_tokens")
        assertError(try post("/v1/generate", ["model": "llm", "inputs": "hi", "parameters": ["temperature": -1]]), 400, mentions: "temperature")
        assertError(
            try post("/v1/generate", ["model": "llm", "inputs": String(repeating: "hello ", count: 200)]), 400, mentions: "takes at most 128")
        assertError(try post("/v1/generate", ["model": "classifier", "inputs": "hi"]), 400, mentions: "not a causal language model")
        assertError(try post("/v1/predict", ["model": "llm", "inputs": "hi"]), 400, mentions: "causal language model")
        assertError(try post("/v1/generate", ["model": "gone", "inputs": "hi"]), 404, mentions: "not served")
        let models = try XCTUnwrap(try HTTPTestClient.get(port: port, path: "/info").json["models"] as? [[String: Any]])
        let llm = try XCTUnwrap(models.first { $0["name"] as? String == "llm" })
        XCTAssertEqual(llm["kind"] as? String, "causal_lm")
        XCTAssertEqual(llm["max_length"] as? Int, 128)
        // A generation is counted as any request.
        XCTAssertEqual(try post("/v1/generate", ["inputs": "hi", "parameters": ["max_new_tokens": 2]]).status, 200)
        let samples = try PrometheusSamples(try HTTPTestClient.get(port: port, path: "/metrics").text)
        XCTAssertEqual(samples.value("fttrain_requests_total", ["model": "llm", "route": "/v1/generate", "status": "200"]), 1)
        XCTAssertEqual(samples.value("fttrain_inference_seconds_count", ["model": "llm", "route": "/v1/generate"]), 1)
    }
}

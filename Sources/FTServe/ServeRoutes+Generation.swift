import FTModel
import Foundation
import Hummingbird

/// `POST /v1/generate` (text-generation-inference's shape) and OpenAI's `POST /v1/chat/completions`
/// for served causal LMs, whole or streamed as server-sent events. A generation runs on the
/// generation queue's thread alone, in its turn (`BatchQueue.submit(model:work:)`), through
/// `TextGenerator` as `fttrain generate` runs it; the encoders' requests go on meanwhile on theirs.
extension ServeRoutes {
    /// Generation settings of `/v1/generate` (`parameters`), with TGI's and Hugging Face's names.
    struct GenerateParameters: Decodable {
        var max_new_tokens: Int?
        var do_sample: Bool?
        var temperature: Float?
        var top_k: Int?
        var top_p: Float?
        var seed: UInt64?
    }

    struct GenerateBody: Decodable {
        var model: String?
        var inputs: String
        var parameters: GenerateParameters?
        var stream: Bool?
    }

    struct ChatBody: Decodable {
        var model: String?
        var messages: [ChatMessage]
        var max_tokens: Int?
        var max_completion_tokens: Int?
        var temperature: Float?
        var top_p: Float?
        /// Not OpenAI's; Hugging Face's top-k (default 0 here: all tokens, as OpenAI samples).
        var top_k: Int?
        var seed: UInt64?
        var stream: Bool?
    }

    static let defaultMaxNewTokens = 256

    func addGeneration(to router: Router<ServeRequestContext>) {
        router.post("/v1/generate") { request, context in try await generate(request, context) }
        router.post("/v1/chat/completions") { request, context in try await chat(request, context) }
    }

    private func generate(_ request: Request, _ context: ServeRequestContext) async throws -> Response {
        let body = try await ServeRequests.decode(GenerateBody.self, from: request, limit: limits.maxBodyBytes)
        let model = try resolveGenerator(body.model, context)
        let p = body.parameters ?? GenerateParameters()
        let sampling = SamplingSettings(
            doSample: p.do_sample ?? false, temperature: p.temperature ?? 1, topK: p.top_k ?? 50, topP: p.top_p ?? 1, seed: p.seed ?? 42)
        let maxNewTokens = try checked(p.max_new_tokens, field: "parameters.max_new_tokens", sampling: sampling, prompt: body.inputs, model)
        let id = context.state.requestId
        let head = "{\"id\": \(JSONText.string(id)), \"model\": \(JSONText.string(model.name)), "
        if body.stream ?? false {
            return try stream(model, prompt: body.inputs, maxNewTokens: maxNewTokens, sampling: sampling, route: "/v1/generate") { event in
                switch event {
                case .start: nil
                case .text(let piece): "{\"text\": \(JSONText.string(piece))}"
                case .end(let output):
                    head + "\"generated_text\": \(JSONText.string(output.text)), \"tokens\": \(output.tokens.count), "
                        + "\"prompt_tokens\": \(output.promptTokens), \"finish_reason\": \"\(output.stopped ? "stop" : "length")\"}"
                }
            }
        }
        let output = try await run(model, prompt: body.inputs, maxNewTokens: maxNewTokens, sampling: sampling, route: "/v1/generate")
        return jsonResponse(
            head + "\"generated_text\": \(JSONText.string(output.text)), \"tokens\": \(output.tokens.count), "
                + "\"prompt_tokens\": \(output.promptTokens), \"finish_reason\": \"\(output.stopped ? "stop" : "length")\"}")
    }

    private func chat(_ request: Request, _ context: ServeRequestContext) async throws -> Response {
        let body = try await ServeRequests.decode(ChatBody.self, from: request, limit: limits.maxBodyBytes)
        let model = try resolveGenerator(body.model, context)
        guard !body.messages.isEmpty else { throw ServeError.validation("messages: empty list") }
        for (i, message) in body.messages.enumerated() where !["system", "user", "assistant"].contains(message.role) {
            throw ServeError.validation("messages[\(i)].role: \(JSONText.string(message.role)) is not system, user or assistant")
        }
        let prompt: String
        do {
            prompt = try model.tokenizer.applyChatTemplate(body.messages, addGenerationPrompt: true)
        } catch {
            throw ServeError.validation("messages: \(error)")
        }
        let temperature = body.temperature ?? 1
        let sampling = SamplingSettings(
            doSample: temperature > 0, temperature: temperature, topK: body.top_k ?? 0, topP: body.top_p ?? 1, seed: body.seed ?? 42)
        let maxNewTokens = try checked(
            body.max_completion_tokens ?? body.max_tokens, field: body.max_completion_tokens != nil ? "max_completion_tokens" : "max_tokens",
            sampling: sampling, prompt: prompt, model)
        let id = "chatcmpl-" + context.state.requestId
        let created = Int(Date().timeIntervalSince1970)
        let head =
            "{\"id\": \(JSONText.string(id)), \"object\": \"chat.completion\(body.stream ?? false ? ".chunk" : "")\", "
            + "\"created\": \(created), \"model\": \(JSONText.string(model.name)), "
        if body.stream ?? false {
            return try stream(model, prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, route: "/v1/chat/completions") { event in
                switch event {
                case .start:
                    head + "\"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\", \"content\": \"\"}, \"finish_reason\": null}]}"
                case .text(let piece):
                    head + "\"choices\": [{\"index\": 0, \"delta\": {\"content\": \(JSONText.string(piece))}, \"finish_reason\": null}]}"
                case .end(let output):
                    head + "\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \(Self.finishReason(output))}], " + usage(output) + "}"
                }
            }
        }
        let output = try await run(model, prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, route: "/v1/chat/completions")
        return jsonResponse(
            head + "\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \(JSONText.string(output.text))}, "
                + "\"finish_reason\": \(Self.finishReason(output))}], " + usage(output) + "}")
    }

    static func finishReason(_ output: TextGenerator.Output) -> String { output.stopped ? "\"stop\"" : "\"length\"" }

    private func usage(_ output: TextGenerator.Output) -> String {
        "\"usage\": {\"prompt_tokens\": \(output.promptTokens), \"completion_tokens\": \(output.tokens.count), "
            + "\"total_tokens\": \(output.promptTokens + output.tokens.count)}"
    }

    // MARK: - Running a generation

    /// What a stream reports: its start, each text piece, the whole output.
    enum StreamEvent {
        case start
        case text(String)
        case end(TextGenerator.Output)
    }

    /// Generates on the compute thread and waits for the whole output.
    private func run(
        _ model: ServedGenerator, prompt: String, maxNewTokens: Int, sampling: SamplingSettings, route: String
    ) async throws -> TextGenerator.Output {
        let enqueued = DispatchTime.now().uptimeNanoseconds
        return try await withCheckedThrowingContinuation { continuation in
            do {
                try generationQueue.submit(model: model.name) { [metrics] in
                    let started = DispatchTime.now().uptimeNanoseconds
                    do {
                        let output = try model.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, onText: nil)
                        metrics.timings(
                            model: model.name, route: route, queueSeconds: Double(started - enqueued) / 1e9,
                            inferenceSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                        continuation.resume(returning: output)
                    } catch {
                        continuation.resume(throwing: ServeError(.internal, "generation failed: \(error)"))
                    }
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Generates on the compute thread, answering at once with a `text/event-stream` body: one
    /// `data: JSON` event per `render`ed event (nil: none), then `data: [DONE]`.
    private func stream(
        _ model: ServedGenerator, prompt: String, maxNewTokens: Int, sampling: SamplingSettings, route: String,
        render: @escaping @Sendable (StreamEvent) -> String?
    ) throws -> Response {
        let (events, sink) = AsyncStream<ByteBuffer>.makeStream()
        func send(_ json: String) { sink.yield(ByteBuffer(string: "data: \(json)\n\n")) }
        let enqueued = DispatchTime.now().uptimeNanoseconds
        try generationQueue.submit(model: model.name) { [metrics] in
            let started = DispatchTime.now().uptimeNanoseconds
            if let json = render(.start) { send(json) }
            do {
                let output = try model.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling) { piece in
                    if let json = render(.text(piece)) { send(json) }
                }
                metrics.timings(
                    model: model.name, route: route, queueSeconds: Double(started - enqueued) / 1e9,
                    inferenceSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                if let json = render(.end(output)) { send(json) }
            } catch {
                send(ServeError(.internal, "generation failed: \(error)").json)
            }
            sink.yield(ByteBuffer(string: "data: [DONE]\n\n"))
            sink.finish()
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody(asyncSequence: events))
    }

    // MARK: - Checks

    /// The served causal LM a request names (or the only one when it names none).
    private func resolveGenerator(_ name: String?, _ context: ServeRequestContext) throws -> ServedGenerator {
        let chosen: String
        if let name {
            chosen = name
        } else {
            guard generators.count == 1, let only = generators.keys.first else {
                throw ServeError.validation("missing field model (causal LMs served: \(generatorNames.joined(separator: ", ")))")
            }
            chosen = only
        }
        guard let model = generators[chosen] else {
            if models[chosen] != nil {
                throw ServeError.validation("model \(chosen) is not a causal language model: use /v1/predict or /v1/embed")
            }
            throw ServeError(.notFound, "model \(JSONText.string(chosen)) is not served (served: \(names.joined(separator: ", ")))")
        }
        context.state.model = model.name
        return model
    }

    /// The number of new tokens after the checks: positive, sampling settings valid, a prompt that
    /// leaves room below the model's length.
    private func checked(_ requested: Int?, field: String, sampling: SamplingSettings, prompt: String, _ model: ServedGenerator) throws -> Int {
        let maxNewTokens = requested ?? Self.defaultMaxNewTokens
        guard maxNewTokens >= 1 else { throw ServeError.validation("\(field) must be at least 1, got \(maxNewTokens)") }
        do {
            try sampling.validate()
        } catch {
            throw ServeError.validation("\(error)")
        }
        let promptTokens = model.tokenizer.encode(prompt).count
        guard promptTokens > 0 else { throw ServeError.validation("the prompt has no tokens") }
        guard promptTokens < model.maxLength else {
            throw ServeError.validation("the prompt has \(promptTokens) tokens; model \(model.name) takes at most \(model.maxLength)")
        }
        return maxNewTokens
    }
}

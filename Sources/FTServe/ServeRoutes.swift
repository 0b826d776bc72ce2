import FTModel
import FTTrain
import Foundation
import Hummingbird

/// The HTTP routes of `fttrain serve` (docs/serve.md): `/v1/predict`, `/v1/embed`, `/v1/tokenize`,
/// `/health`, `/info`, `/metrics` (and the generation routes, `ServeRoutes+Generation.swift`). Handlers parse and tokenize on the request's task and hand the
/// forward pass to the `BatchQueue`'s compute thread.
struct ServeRoutes: Sendable {
    /// The served encoders (classifiers, embedders, their adapters) by name.
    let models: [String: ServedModel]
    /// The served causal LMs by name.
    let generators: [String: ServedGenerator]
    /// Every served name in the order given (models, then adapters).
    let names: [String]
    /// The encoders' queue.
    let queue: BatchQueue
    /// The causal LMs' queue (generations run on its own thread).
    let generationQueue: BatchQueue
    let limits: ServeLimits
    let metrics: ServeMetrics
    /// `/info`'s `routes` object (A/B routes of the configuration), as JSON text.
    let routesJSON: String
    /// A/B routes (ABServe.swift).
    let ab: ABServe
    /// `/info`'s `version`: fttrain's release and the revision of this HTTP contract.
    static let version = "fttrain \(FTTrainVersion.current) (serve API 1)"

    var encoderNames: [String] { names.filter { models[$0] != nil } }
    var generatorNames: [String] { names.filter { generators[$0] != nil } }

    func add(to router: Router<ServeRequestContext>) {
        addGeneration(to: router)
        router.post("/v1/predict") { request, context in try await predict(request, context) }
        router.post("/v1/embed") { request, context in try await embed(request, context) }
        router.post("/v1/tokenize") { request, context in try await tokenize(request, context) }
        router.get("/health") { _, _ in
            limits.draining
                ? jsonResponse("{\"status\": \"draining\"}", status: .serviceUnavailable) : jsonResponse("{\"status\": \"ok\"}")
        }
        router.get("/info") { _, _ in jsonResponse(info()) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text())))
        }
    }

    // MARK: - Inference routes

    private func predict(_ request: Request, _ context: ServeRequestContext) async throws -> Response {
        let body = try await ServeRequests.decode(TextsBody.self, from: request, limit: limits.maxBodyBytes, state: context.state)
        let choice = ab.choose(body.model, request)  // a model name that is an A/B route: one of its arms
        let model = try resolve(choice?.arm ?? body.model, context)
        guard model.kind != .embedder else {
            throw ServeError.validation("model \(model.name) is an embedder (no labels): use /v1/embed")
        }
        if model.kind == .questionAnswerer { return try await answers(body.inputs, model, context) }
        let encodings = try encode(body.inputs, model)
        context.state.stamp(.tokenized)
        if model.kind == .tokenClassifier { return try await entities(body.inputs, encodings, model, context) }
        let result = try await queue.submit(model: model, operation: .classify, encodings: encodings)
        result.stamp(context.state)
        metrics.timings(model: model.name, route: "/v1/predict", queueSeconds: result.queueSeconds, inferenceSeconds: result.inferenceSeconds)
        if let problemType = model.problemType { return try problemTypePredictions(result.rows, model, problemType, context) }
        var predicted: [String] = []
        let predictions = result.rows.map { row -> String in
            var best = 0
            for k in 1..<row.count where row[k] > row[best] { best = k }  // argmax, lowest index on ties
            predicted.append(model.labels[best])
            let probabilities = zip(model.labels, row).map { "\(JSONText.string($0)): \(JSONText.number($1))" }
            return "{\"label\": \(JSONText.string(model.labels[best])), \"probabilities\": {\(probabilities.joined(separator: ", "))}}"
        }
        var response = jsonResponse(
            "{\"id\": \(JSONText.string(context.state.requestId)), \"model\": \(JSONText.string(model.name)), "
                + "\"predictions\": [\(predictions.joined(separator: ", "))]}")
        if let choice { try ab.served(choice, id: context.state.requestId, model: model.name, labels: predicted, response: &response) }
        return response
    }

    /// `/v1/predict` on a token classifier: each text's entities, each prediction the object
    /// `fttrain predict` prints for it (`{"entities": [{"end", "score", "start", "text", "type"}]}`, keys sorted).
    private func entities(
        _ inputs: ServeInputs, _ encodings: [TokenizerEncoding], _ model: ServedModel, _ context: ServeRequestContext
    ) async throws -> Response {
        let result = try await queue.submit(model: model, operation: .entities, encodings: encodings, texts: inputs.items.map(\.text))
        metrics.timings(model: model.name, route: "/v1/predict", queueSeconds: result.queueSeconds, inferenceSeconds: result.inferenceSeconds)
        let predictions = try result.entities.map { found in
            let line = try JSONSerialization.data(
                withJSONObject: ["entities": found.map(\.json)], options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: line, as: UTF8.self)
        }
        return jsonResponse(
            "{\"id\": \(JSONText.string(context.state.requestId)), \"model\": \(JSONText.string(model.name)), "
                + "\"predictions\": [\(predictions.joined(separator: ", "))]}")
    }

    private func embed(_ request: Request, _ context: ServeRequestContext) async throws -> Response {
        let body = try await ServeRequests.decode(EmbedBody.self, from: request, limit: limits.maxBodyBytes, state: context.state)
        let model = try resolve(body.model, context)
        var pooling = SentencePooling.mean
        if let name = body.pooling {
            guard let parsed = SentencePooling(rawValue: name) else {
                throw ServeError.validation("pooling: expected \"mean\" or \"cls\", got \(JSONText.string(name))")
            }
            pooling = parsed
        }
        let encodings = try encode(body.inputs, model)
        context.state.stamp(.tokenized)
        let result = try await queue.submit(model: model, operation: .embed(pooling, body.normalize ?? true), encodings: encodings)
        result.stamp(context.state)
        metrics.timings(model: model.name, route: "/v1/embed", queueSeconds: result.queueSeconds, inferenceSeconds: result.inferenceSeconds)
        return jsonResponse(
            "{\"id\": \(JSONText.string(context.state.requestId)), \"model\": \(JSONText.string(model.name)), "
                + "\"embeddings\": [\(result.rows.map { JSONText.array($0) }.joined(separator: ", "))]}")
    }

    private func tokenize(_ request: Request, _ context: ServeRequestContext) async throws -> Response {
        let body = try await ServeRequests.decode(TextsBody.self, from: request, limit: limits.maxBodyBytes, state: context.state)
        let model = try resolve(body.model, context)
        let tokens = try encode(body.inputs, model).map { encoding in
            "{\"ids\": [\(encoding.inputIds.map(String.init).joined(separator: ", "))], "
                + "\"tokens\": \(JSONText.strings(encoding.inputIds.map { model.tokenizer.vocabulary[Int($0)] }))}"
        }
        return jsonResponse(
            "{\"id\": \(JSONText.string(context.state.requestId)), \"model\": \(JSONText.string(model.name)), "
                + "\"tokens\": [\(tokens.joined(separator: ", "))]}")
    }

    // MARK: - Helpers

    /// The served model a request names (or the only one when it names none).
    private func resolve(_ name: String?, _ context: ServeRequestContext) throws -> ServedModel {
        guard let name else {
            guard encoderNames.count == 1, let only = models[encoderNames[0]] else {
                throw ServeError.validation("missing field model (served: \(encoderNames.joined(separator: ", ")))")
            }
            context.state.model = only.name
            return only
        }
        guard let model = models[name] else {
            if ab.router.routes[name] != nil { throw ServeError.validation("\(JSONText.string(name)) is an A/B route: it serves /v1/predict only") }
            if generators[name] != nil {
                throw ServeError.validation("model \(name) is a causal language model: use /v1/generate or /v1/chat/completions")
            }
            throw ServeError(.notFound, "model \(JSONText.string(name)) is not served (served: \(names.joined(separator: ", ")))")
        }
        context.state.model = model.name
        return model
    }

    /// Tokenizes the inputs after the count checks (none, or more than `max_inputs`: 400).
    private func encode(_ inputs: ServeInputs, _ model: ServedModel) throws -> [TokenizerEncoding] {
        guard !inputs.items.isEmpty else { throw ServeError.validation("inputs: empty list") }
        guard inputs.items.count <= limits.maxInputs else {
            throw ServeError.validation("inputs: \(inputs.items.count) texts, more than max_inputs \(limits.maxInputs)")
        }
        return try inputs.items.enumerated().map { index, item in
            try model.encode(item.text, pair: item.pair, truncate: limits.truncate, field: "inputs[\(index)]")
        }
    }

    /// `/info`: the version, each served model, the A/B routes.
    private func info() -> String {
        func entry(_ name: String, _ kind: String, _ labels: [String], _ maxLength: Int, _ base: String?, _ lineage: String?) -> String {
            "{\"name\": \(JSONText.string(name)), \"kind\": \(JSONText.string(kind)), "
                + "\"labels\": \(JSONText.strings(labels)), \"max_length\": \(maxLength), "
                + "\"base\": \(base.map(JSONText.string) ?? "null"), \"lineage\": \(lineage ?? "null")}"
        }
        let entries = names.compactMap { name -> String? in
            if let model = models[name] {
                return entry(model.name, model.kind.rawValue, model.labels, model.maxLength, model.base, model.lineageJSON)
            }
            if let model = generators[name] { return entry(model.name, "causal_lm", [], model.maxLength, model.base, model.lineageJSON) }
            return nil
        }
        return "{\"version\": \(JSONText.string(Self.version)), \"models\": [\(entries.joined(separator: ", "))], \"routes\": \(routesJSON)}"
    }
}

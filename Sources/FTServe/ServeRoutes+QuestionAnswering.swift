import FTModel
import FTTrain
import Foundation
import Hummingbird

extension ServeRoutes {
    /// `/v1/predict` on a question-answering model: each input is a `{"question", "context"}`
    /// object or a `[question, context]` pair; each prediction is the object `fttrain predict`
    /// prints for it (`{"answer", "end", "score", "start"}`, Unicode-scalar offsets into the
    /// context, keys sorted; `answer` "" without offsets when a SQuAD v2 model finds none). Long
    /// contexts are windowed as in training, so nothing is truncated.
    func answers(_ inputs: ServeInputs, _ model: ServedModel, _ context: ServeRequestContext) async throws -> Response {
        guard !inputs.items.isEmpty else { throw ServeError.validation("inputs: empty list") }
        guard inputs.items.count <= limits.maxInputs else {
            throw ServeError.validation("inputs: \(inputs.items.count) questions, more than max_inputs \(limits.maxInputs)")
        }
        var pairs: [(question: String, context: String)] = []
        for (index, item) in inputs.items.enumerated() {
            guard let pair = item.pair else {
                throw ServeError.validation(
                    "inputs[\(index)]: model \(model.name) answers questions: send {\"question\": …, \"context\": …} or [question, context]")
            }
            pairs.append((item.text, pair))
        }
        let enqueued = DispatchTime.now().uptimeNanoseconds
        let found: [PredictedAnswer] = try await withCheckedThrowingContinuation { continuation in
            do {
                try queue.submit(model: model.name) { [metrics] in
                    let started = DispatchTime.now().uptimeNanoseconds
                    do {
                        let answers = try model.answers(pairs)
                        metrics.timings(
                            model: model.name, route: "/v1/predict", queueSeconds: Double(started - enqueued) / 1e9,
                            inferenceSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                        continuation.resume(returning: answers)
                    } catch let problem as QuestionAnsweringFeatures.Problem {
                        continuation.resume(throwing: ServeError.validation(problem.description))
                    } catch {
                        continuation.resume(throwing: ServeError(.internal, "inference failed: \(error)"))
                    }
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        let predictions = try found.map { answer in
            String(decoding: try JSONSerialization.data(withJSONObject: answer.json, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        }
        return jsonResponse(
            "{\"id\": \(JSONText.string(context.state.requestId)), \"model\": \(JSONText.string(model.name)), "
                + "\"predictions\": [\(predictions.joined(separator: ", "))]}")
    }
}

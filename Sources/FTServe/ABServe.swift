import FTTrain
import Foundation
import Hummingbird
import Prometheus

/// The A/B side of `fttrain serve` (docs/serve.md, "A/B routes"): a `POST /v1/predict` whose
/// `model` names an A/B route goes to one of the route's arms (a served model), sticky per client
/// by the route's header; the answer carries `x-ab-arm`, the arm is counted in
/// `fttrain_ab_requests_total{route,arm}`, and the prediction is logged (`--ab-log FILE`, else in
/// memory) so that `POST /v1/feedback` can attach the true label and `GET /v1/ab` (or
/// `fttrain ab-report --log FILE`) can report each arm's accuracy.
///
/// The statistics, the split and the log are FTTrain's `ABRouter`; this file is only their HTTP.
struct ABServe: Sendable {
    let router: ABRouter
    let metrics: ServeMetrics
    /// Arm (served model) → its labels, to check the labels of a feedback.
    let labels: [String: [String]]

    /// The route and arm a request was sent to.
    struct Choice: Sendable {
        let route: String
        let arm: String
    }

    /// The router of `configuration.routes` over the served `models`, logging to
    /// `configuration.abLog` (in memory without it).
    /// - Throws: `ServeSetupError` naming the route, the arm or the log file.
    static func make(_ configuration: ServeConfiguration, models: [ServedModel], metrics: ServeMetrics) throws -> ABServe {
        do {
            let routes = try configuration.routes.keys.sorted().map { name throws(ABTestingError) in
                try ABRoute.parse(name: name, json: configuration.routes[name]!, source: "serve configuration")
            }
            let log = try configuration.abLog.map { path throws(ABTestingError) in try ABLog(path: path) } ?? ABLog()
            if log.recoveredTruncatedLine, let path = log.path {
                FileHandle.standardError.write(Data("fttrain serve: \(path): dropped a partial last line (a crash mid-write)\n".utf8))
            }
            let router = try ABRouter(routes: routes, servedModels: models.map(\.name), log: log)
            for route in routes {
                guard let arm = route.split.arms.first(where: { name in models.first { $0.name == name.name }?.kind != .classifier }) else {
                    continue
                }
                let kind = models.first { $0.name == arm.name }?.kind == .tokenClassifier ? "a token classifier" : "an embedder"
                throw ABTestingError.badRoute("A/B route \(route.name): arm \(arm.name) is \(kind); arms must be classifiers")
            }
            let serve = ABServe(
                router: router, metrics: metrics, labels: Dictionary(uniqueKeysWithValues: models.map { ($0.name, $0.labels) }))
            for route in routes {
                for arm in route.split.arms { serve.count(route: route.name, arm: arm.name, by: 0) }
            }
            return serve
        } catch let error as ABTestingError {
            throw ServeSetupError(error.description)
        }
    }

    /// The arm of a request whose `model` field is `name`, or `nil` when `name` is not an A/B route.
    func choose(_ name: String?, _ request: Request) -> Choice? {
        guard let name, let route = router.routes[name] else { return nil }
        let key = route.stickyHeader.flatMap { header in request.headers[.init(header)!] }
        let arm = router.arm(route: route, key: key)
        count(route: name, arm: arm, by: 1)
        return Choice(route: name, arm: arm)
    }

    /// Logs what the arm predicted for request `id` and marks the response with `x-ab-arm`.
    /// - Throws: `ServeError` internal when the log cannot be written (the feedback would be lost).
    func served(_ choice: Choice, id: String, model: String, labels: [String], response: inout Response) throws {
        do {
            try router.log.logPrediction(id: id, route: choice.route, arm: choice.arm, model: model, labels: labels)
        } catch {
            throw ServeError(.internal, error.description)
        }
        response.headers[.init("x-ab-arm")!] = choice.arm
    }

    func add(to router: Router<ServeRequestContext>) {
        router.post("/v1/feedback") { request, context in try await feedback(request, context) }
        router.get("/v1/ab") { request, _ in try report(request) }
    }

    /// `POST /v1/feedback {"id": REQUEST_ID, "label": "pos"}` (or `"labels": [...]`, one per input
    /// of the request) → 200 `{"id", "route", "arm", "correct": [bool, ...]}`; 404 for an id no A/B
    /// prediction had, 400 for a label the arm's model does not have or the wrong count.
    private func feedback(_ request: Request, _ context: ServeRequestContext) async throws -> Response {
        let body = try await ServeRequests.decode(FeedbackBody.self, from: request, limit: 65536)
        let given: [String]
        switch (body.label, body.labels) {
        case (let label?, nil): given = [label]
        case (nil, let labels?) where !labels.isEmpty: given = labels
        case (nil, _): throw ServeError.validation("missing field label (or labels, one per input of the request)")
        case (_?, _?): throw ServeError.validation("give label or labels, not both")
        }
        guard let entry = router.log.snapshot[body.id] else {
            throw ServeError(.notFound, "no A/B prediction was served with request id \(JSONText.string(body.id))")
        }
        let known = labels[entry.prediction.model] ?? []
        for label in given where !known.contains(label) {
            throw ServeError.validation(
                "label \(JSONText.string(label)) is not a label of model \(entry.prediction.model) (labels: \(known.joined(separator: ", ")))")
        }
        let prediction: ABPrediction
        do {
            prediction = try router.log.logFeedback(id: body.id, labels: given)
        } catch .unknownRequest {
            throw ServeError(.notFound, "no A/B prediction was served with request id \(JSONText.string(body.id))")
        } catch .feedbackCount(_, let expected, let found) {
            throw ServeError.validation("request \(body.id) had \(expected) inputs but the feedback has \(found) labels")
        } catch {
            throw ServeError(.internal, error.description)
        }
        context.state.model = prediction.model
        let correct = zip(prediction.labels, given).map { $0 == $1 ? "true" : "false" }
        return jsonResponse(
            "{\"id\": \(JSONText.string(body.id)), \"route\": \(JSONText.string(prediction.route)), "
                + "\"arm\": \(JSONText.string(prediction.arm)), \"correct\": [\(correct.joined(separator: ", "))]}")
    }

    /// `GET /v1/ab[?route=NAME]`: `ABReport.json` of the log so far; 404 for an unknown route.
    private func report(_ request: Request) throws -> Response {
        let route = request.uri.queryParameters.get("route")
        do {
            return jsonResponse(try router.report(route: route).json)
        } catch {
            throw ServeError(.notFound, error.description)
        }
    }

    /// Moves `fttrain_ab_requests_total{route,arm}` (by 0 to list an arm before its first request).
    private func count(route: String, arm: String, by amount: Int) {
        metrics.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "fttrain_ab_requests", unitName: "total", helpText: "Requests sent to each arm of an A/B route"),
            labels: [("route", route), ("arm", arm)]
        ).increment(by: Int64(amount))
    }
}

/// The body of `/v1/feedback`.
struct FeedbackBody: Decodable {
    var id: String
    var label: String?
    var labels: [String]?
}

import Foundation
import Hummingbird

/// The request context of `fttrain serve`: Hummingbird's core storage and this request's state,
/// a reference the middleware and the route handler share (the model a handler resolved, for the
/// metrics' `model` label, and the request id).
public struct ServeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let state = RequestState()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a handler tells the middleware about its request.
final class RequestState: @unchecked Sendable {
    /// Set by the middleware before the handler runs; read by the handler.
    var requestId = ""
    /// The served model's name once the handler has resolved it.
    var model = ""
    /// Monotonic stamps of the request's stages (`ServeStages`), when they are timed.
    var stamps: [UInt64]? = ServeStages.enabled ? [UInt64](repeating: 0, count: ServeStages.Stage.allCases.count) : nil

    /// Stamps `stage` now (when requests are timed).
    func stamp(_ stage: ServeStages.Stage) { stamps?[stage.rawValue] = ServeStages.now }

    /// Stamps `stage` at `nanoseconds` of the monotonic clock (when requests are timed).
    func stamp(_ stage: ServeStages.Stage, at nanoseconds: UInt64) { stamps?[stage.rawValue] = nanoseconds }
}

/// The in-flight count behind `max_concurrent_requests`, and whether the server is draining.
public final class ServeLimits: @unchecked Sendable {
    public let maxConcurrentRequests: Int
    public let maxBodyBytes: Int
    public let maxInputs: Int
    public let truncate: Bool
    private let lock = NSLock()
    private var inFlight = 0
    private var isDraining = false

    public init(maxConcurrentRequests: Int, maxBodyBytes: Int, maxInputs: Int, truncate: Bool) {
        self.maxConcurrentRequests = maxConcurrentRequests
        self.maxBodyBytes = maxBodyBytes
        self.maxInputs = maxInputs
        self.truncate = truncate
    }

    /// Takes a slot; false when `maxConcurrentRequests` are already in flight.
    func enter() -> Bool {
        lock.withLock {
            guard inFlight < maxConcurrentRequests else { return false }
            inFlight += 1
            return true
        }
    }

    func leave() { lock.withLock { inFlight -= 1 } }

    /// Requests in flight now.
    public var current: Int { lock.withLock { inFlight } }

    /// Set on SIGTERM/SIGINT: `/health` answers 503 from then on.
    public var draining: Bool {
        get { lock.withLock { isDraining } }
        set { lock.withLock { isDraining = newValue } }
    }
}

/// Every request passes here: it gets an `x-request-id`, inference routes (`/v1/…`) count against
/// `max_concurrent_requests` (429 beyond), any thrown error becomes the JSON error shape with its
/// status (a failing request never takes the server down), and every answer is counted in the metrics.
struct ServeMiddleware: RouterMiddleware {
    typealias Context = ServeRequestContext
    let limits: ServeLimits
    let metrics: ServeMetrics
    /// Where the stage timings go (`FTTRAIN_SERVE_STAGES=1`).
    let stages: ServeStages
    /// Route labels of the metrics: the known paths, anything else as `other`.
    static let knownRoutes: Set<String> = [
        "/v1/predict", "/v1/embed", "/v1/tokenize", "/v1/generate", "/v1/chat/completions", "/health", "/info", "/metrics",
        "/v1/feedback", "/v1/ab",
    ]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        context.state.stamp(.received)
        let id = UUID().uuidString.lowercased()
        context.state.requestId = id
        let path = request.uri.path
        let route = Self.knownRoutes.contains(path) ? path : "other"
        var failure: ServeError?
        var response: Response
        let limited = path.hasPrefix("/v1/")
        if limited, !limits.enter() {
            failure = ServeError(.overloaded, "more than \(limits.maxConcurrentRequests) requests in flight (max_concurrent_requests); retry later")
            response = failure!.response()
        } else {
            do {
                response = try await next(request, context)
            } catch {
                failure = ServeError.from(error)
                response = failure!.response()
            }
            if limited, response.headers[.contentType] == "text/event-stream" {
                // A streamed generation is in flight until its last event is written.
                let body = response.body
                let limits = limits
                response.body = ResponseBody { writer in
                    do {
                        try await body.write(writer)
                        limits.leave()
                    } catch {
                        limits.leave()
                        throw error
                    }
                }
            } else if limited {
                limits.leave()
            }
        }
        response.headers[.init("x-request-id")!] = id
        metrics.request(model: context.state.model, route: route, status: Int(response.status.code), failure: failure?.kind.rawValue)
        context.state.stamp(.replied)
        if let stamps = context.state.stamps { stages.record(stamps) }
        return response
    }
}

extension ServeError {
    /// The JSON error response.
    func response() -> Response { jsonResponse(json, status: kind.status) }
}

/// A `content-type: application/json` response.
func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
}

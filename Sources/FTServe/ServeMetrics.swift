import Foundation
import Prometheus

/// The server's Prometheus metrics (swift-prometheus, text format at `GET /metrics`), per model and route:
///
/// - `fttrain_requests_total{model,route,status}`: every answered request, by HTTP status;
/// - `fttrain_request_failures_total{model,route,reason}`: the failed ones, by `error_type`;
/// - `fttrain_queue_seconds{model,route}`, `fttrain_inference_seconds{model,route}`: histograms of
///   the time a request waited for its batch and the time its batch computed;
/// - `fttrain_batch_size{model}`, `fttrain_batch_tokens{model}`: histograms of texts and tokens per batch;
/// - `fttrain_queue_depth{model}`: requests waiting or computing.
///
/// A request whose model is unknown (or that names none) is counted under `model=""`.
/// The registry is this server's own, not the global `MetricsSystem`, so several servers in one
/// process (the tests) keep apart.
public final class ServeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    static let secondsBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let sizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    static let tokenBuckets: [Double] = [16, 64, 256, 1024, 4096, 16384, 65536]

    public init() {}

    /// Counts an answered request (and a failure when `failure` is an error type).
    public func request(model: String, route: String, status: Int, failure: String?) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: "fttrain_requests", unitName: "total", helpText: "Answered requests by status"),
            labels: [("model", model), ("route", route), ("status", String(status))]
        ).increment()
        if let failure {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: "fttrain_request_failures", unitName: "total", helpText: "Failed requests by reason"),
                labels: [("model", model), ("route", route), ("reason", failure)]
            ).increment()
        }
    }

    /// Records the queue and compute time of one inference request.
    func timings(model: String, route: String, queueSeconds: Double, inferenceSeconds: Double) {
        let labels = [("model", model), ("route", route)]
        registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(metricName: "fttrain_queue", unitName: "seconds", helpText: "Time a request waited for its batch"),
            labels: labels, buckets: Self.secondsBuckets
        ).record(queueSeconds)
        registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(metricName: "fttrain_inference", unitName: "seconds", helpText: "Compute time of a request's batch"),
            labels: labels, buckets: Self.secondsBuckets
        ).record(inferenceSeconds)
    }

    /// Records one batch's size (texts) and tokens.
    func batch(model: String, size: Int, tokens: Int) {
        registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(metricName: "fttrain_batch", unitName: "size", helpText: "Texts per batch"),
            labels: [("model", model)], buckets: Self.sizeBuckets
        ).record(Double(size))
        registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "fttrain_batch", unitName: "tokens", helpText: "Tokens per batch (sum of the texts' lengths)"),
            labels: [("model", model)], buckets: Self.tokenBuckets
        ).record(Double(tokens))
    }

    /// Moves the queue depth of `model` by `delta` requests.
    func queueDepth(model: String, delta: Double) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "fttrain_queue", unitName: "depth", helpText: "Requests queued or computing"),
            labels: [("model", model)]
        ).increment(by: delta)
    }

    /// Registers the gauges of the served models at zero, so `/metrics` lists them before any request.
    func register(models: [String]) {
        for model in models { queueDepth(model: model, delta: 0) }
    }

    /// The Prometheus text exposition.
    public func text() -> String { registry.emitToString() }
}

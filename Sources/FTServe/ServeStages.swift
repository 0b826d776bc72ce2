import Foundation

/// Where one inference request's time goes inside `fttrain serve` (issue 16), behind
/// `FTTRAIN_SERVE_STAGES=1`: each request stamps a monotonic clock (`DispatchTime`, ns) at every
/// stage of its path, and the server prints, when it stops, the median and mean of each stage's
/// share over the requests it answered. Off (the default), a request only checks one flag.
///
/// The stages, in order, and what the time up to each one covers:
/// - `received`: the middleware has the request (HTTP parsing happened before, in Hummingbird);
/// - `bodyRead`: the body collected; `decoded`: JSON decoded; `tokenized`: the texts encoded;
/// - `enqueued`: the job is in the `BatchQueue` (or started inline, the queue being idle);
/// - `computeStarted`: the compute thread (or the request's own thread) took it — the wake-up;
/// - `forwardDone`: its batch's forward pass and softmax are done;
/// - `resumed`: the handler runs again after its `await` — the hop back;
/// - `replied`: the JSON reply is built and the middleware returns it.
/// What the client sees beyond `received … replied` is Hummingbird's HTTP parsing and writing,
/// and loopback.
public final class ServeStages: @unchecked Sendable {
    public enum Stage: Int, CaseIterable, Sendable {
        case received, bodyRead, decoded, tokenized, enqueued, computeStarted, forwardDone, resumed, replied
    }

    /// Whether requests are timed (`FTTRAIN_SERVE_STAGES=1`).
    public static let enabled = ProcessInfo.processInfo.environment["FTTRAIN_SERVE_STAGES"] == "1"

    /// Nanoseconds of the monotonic clock.
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    private let lock = NSLock()
    /// One row per timed request: the nanoseconds spent reaching each stage from the one before
    /// (`Stage.received` holds 0).
    private var rows: [[UInt64]] = []

    public init() {}

    /// Records one request's stamps (a stage never stamped takes the previous stage's time, so
    /// its share is 0). Requests whose path skipped the queue (no `enqueued`) are not recorded.
    func record(_ stamps: [UInt64]) {
        guard stamps.count == Stage.allCases.count, stamps[Stage.received.rawValue] > 0, stamps[Stage.enqueued.rawValue] > 0 else { return }
        var row = [UInt64](repeating: 0, count: stamps.count)
        var last = stamps[0]
        for i in 1..<stamps.count {
            let t = max(stamps[i], last)
            row[i] = t - last
            last = t
        }
        lock.withLock { rows.append(row) }
    }

    /// Requests recorded so far.
    public var count: Int { lock.withLock { rows.count } }

    /// The table: per stage, the median and mean microseconds, and the total (received → replied).
    public func summary() -> String {
        let rows = lock.withLock { self.rows }
        guard !rows.isEmpty else { return "serve stages: no request timed" }
        func median(_ values: [UInt64]) -> Double {
            let sorted = values.sorted()
            let n = sorted.count
            return n % 2 == 1 ? Double(sorted[n / 2]) : Double(sorted[n / 2 - 1] + sorted[n / 2]) / 2
        }
        var lines = ["serve stages over \(rows.count) requests (µs; each stage is the time since the one before):"]
        lines.append("stage            median      mean")
        for stage in Stage.allCases.dropFirst() {
            let values = rows.map { $0[stage.rawValue] }
            let mean = Double(values.reduce(0, +)) / Double(values.count)
            lines.append(
                "\(String(describing: stage).padding(toLength: 15, withPad: " ", startingAt: 0)) "
                    + String(format: "%8.1f  %8.1f", median(values) / 1e3, mean / 1e3))
        }
        let totals = rows.map { $0.reduce(0, +) }
        let mean = Double(totals.reduce(0, +)) / Double(totals.count)
        lines.append("total           " + String(format: "%8.1f  %8.1f", median(totals) / 1e3, mean / 1e3))
        return lines.joined(separator: "\n")
    }
}

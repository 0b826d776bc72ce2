import FTModel
import Foundation

/// The timeline of a run (`trace: true`): spans of the step's phases as Chrome's trace-event
/// format describes them ("X" complete events: a start `ts` and a duration `dur` in µs of the
/// wall clock, a process per rank, a thread per track), so Perfetto or chrome://tracing shows a row
/// of forward/backward/optimizer spans, with the model's embeddings, layers and head nested in
/// them (`Tracer+ModelSpans`), and a row of all-reduce buckets per rank.
///
/// Recording is a lock and an append (~1 µs); with tracing off, `Tracer.current` is nil and each
/// instrumented site costs one load of it.
public final class Tracer: @unchecked Sendable {
    /// The tracer of this process's run, nil when tracing is off. Set at the start of a run, read
    /// by the trainer, the step and the gradient synchronizer.
    nonisolated(unsafe) public static var current: Tracer?

    /// Rows within a rank: the training thread's phases, and the communication thread's buckets.
    public enum Track: Int, Sendable {
        case main = 0
        case communication = 1
    }

    /// One complete span.
    public struct Span: Sendable {
        public var name: String
        public var category: String
        public var track: Track
        /// Microseconds since the Unix epoch (ranks on one host share the clock).
        public var start: Double
        public var duration: Double
        public var arguments: [String: Double]
    }

    public let rank: Int
    private let lock = NSLock()
    public private(set) var spans: [Span] = []

    public init(rank: Int) {
        self.rank = rank
        spans.reserveCapacity(4096)
    }

    /// Now, in µs since the Unix epoch.
    @inline(__always) public static func now() -> Double { ModelSpans.now() }

    /// Records a span from `start` (µs, `Tracer.now()`) to `end` (by default now).
    public func complete(
        _ name: String, category: String, track: Track = .main, since start: Double, until end: Double = Tracer.now(),
        arguments: [String: Double] = [:]
    ) {
        lock.lock()
        spans.append(Span(name: name, category: category, track: track, start: start, duration: end - start, arguments: arguments))
        lock.unlock()
    }

    /// Runs `body` inside a span.
    @discardableResult
    public func span<T>(
        _ name: String, category: String, track: Track = .main, arguments: [String: Double] = [:], _ body: () throws -> T
    ) rethrows
        -> T
    {
        let start = Self.now()
        defer { complete(name, category: category, track: track, since: start, arguments: arguments) }
        return try body()
    }

    /// This rank's spans as trace events, with the process and thread names.
    public func events() -> [[String: Any]] {
        lock.lock()
        let spans = spans
        lock.unlock()
        var events: [[String: Any]] = [
            ["ph": "M", "name": "process_name", "pid": rank, "tid": 0, "args": ["name": "rank \(rank)"]],
            ["ph": "M", "name": "process_sort_index", "pid": rank, "tid": 0, "args": ["sort_index": rank]],
            ["ph": "M", "name": "thread_name", "pid": rank, "tid": Track.main.rawValue, "args": ["name": "training"]],
            ["ph": "M", "name": "thread_name", "pid": rank, "tid": Track.communication.rawValue, "args": ["name": "all-reduce"]],
        ]
        for s in spans {
            var event: [String: Any] = [
                "ph": "X", "name": s.name, "cat": s.category, "pid": rank, "tid": s.track.rawValue,
                "ts": s.start, "dur": s.duration,
            ]
            if !s.arguments.isEmpty { event["args"] = s.arguments }
            events.append(event)
        }
        return events
    }

    /// Collective: every rank's events gathered on every rank (through `gatherDisjoint`, which
    /// moves float bit patterns exactly: the JSON's bytes travel four to a float).
    public func gatherEvents(world: TrainingWorld) throws -> [[String: Any]] {
        let own = try JSONSerialization.data(withJSONObject: events())
        guard world.size > 1 else { return events() }
        var lengths = [Float](repeating: 0, count: world.size)
        lengths[world.rank] = Float(bitPattern: UInt32(own.count))
        try world.gatherDisjoint(&lengths)
        let counts = lengths.map { Int($0.bitPattern) }
        let words = counts.map { ($0 + 3) / 4 }
        let offsets = words.reduce(into: [0]) { $0.append($0.last! + $1) }
        var buffer = [Float](repeating: 0, count: offsets.last!)
        for (i, byte) in own.enumerated() {
            let word = offsets[world.rank] + i / 4
            buffer[word] = Float(bitPattern: buffer[word].bitPattern | UInt32(byte) << (8 * (i % 4)))
        }
        try world.gatherDisjoint(&buffer)
        var all: [[String: Any]] = []
        for rank in 0..<world.size {
            let bytes = (0..<counts[rank]).map { i in UInt8(truncatingIfNeeded: buffer[offsets[rank] + i / 4].bitPattern >> (8 * (i % 4))) }
            guard let events = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] else {
                throw ReportError(path: "trace", message: "rank \(rank)'s trace events did not arrive intact")
            }
            all += events
        }
        return all
    }

    /// Writes `events` as a Chrome trace file.
    public static func write(_ events: [[String: Any]], to url: URL) throws {
        let object: [String: Any] = ["traceEvents": events, "displayTimeUnit": "ms"]
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url, options: .atomic)
    }
}

extension Optional where Wrapped == Tracer {
    /// `body` inside a span when tracing is on; just `body` when it is off.
    @discardableResult
    public func span<T>(
        _ name: String, category: String, track: Tracer.Track = .main, arguments: [String: Double] = [:], _ body: () throws -> T
    ) rethrows -> T {
        guard let tracer = self else { return try body() }
        return try tracer.span(name, category: category, track: track, arguments: arguments, body)
    }
}

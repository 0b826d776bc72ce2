import Foundation

/// A part of a model's pass that a timeline shows as its own span: the embeddings, one layer,
/// or the head (what sits above the last layer: the pooler and classifier, or the final norm and
/// the output projection).
public enum ModelSpanPart: Sendable, Equatable, CustomStringConvertible {
    case embeddings
    case layer(Int)
    case head

    /// `embeddings`, `layer 3`, `head`.
    public var description: String {
        switch self {
        case .embeddings: return "embeddings"
        case .layer(let l): return "layer \(l)"
        case .head: return "head"
        }
    }
}

/// Receives the spans of a model's passes, part by part (the run's timeline, `Tracer`).
/// Called on the thread that runs the pass, once a part is done.
public protocol ModelSpanRecorder: AnyObject, Sendable {
    /// `part`'s forward (or, with `backward`, its backward) ran from `start` to `end`, in µs
    /// since the Unix epoch (`ModelSpans.now()`).
    func recordModelSpan(_ part: ModelSpanPart, backward: Bool, from start: Double, to end: Double)
}

/// A model that reports its passes part by part to a `ModelSpanRecorder` when one is set; kept
/// apart from `SequenceModel` (as `MixedPrecisionModel` is) so a family opts in. With no recorder
/// a pass pays one branch per part.
public protocol SpanRecordingModel: AnyObject {
    /// Where the parts' spans go; nil (the default) records nothing.
    var spanRecorder: (any ModelSpanRecorder)? { get set }
}

/// The clock of the spans.
public enum ModelSpans {
    /// Now, in µs since the Unix epoch (ranks on one host share it).
    @inline(__always) public static func now() -> Double { Date().timeIntervalSince1970 * 1e6 }
}

/// The consecutive parts of one pass, timed back to back: each `end` closes the span that began
/// where the previous one ended (or at `init`), so the parts tile the pass with one clock read
/// each. Without a recorder it does nothing.
struct ModelSpanMarks {
    let recorder: (any ModelSpanRecorder)?
    let backward: Bool
    private var mark: Double

    init(_ recorder: (any ModelSpanRecorder)?, backward: Bool) {
        self.recorder = recorder
        self.backward = backward
        mark = recorder == nil ? 0 : ModelSpans.now()
    }

    /// Records `part` from the last mark to now.
    @inline(__always) mutating func end(_ part: ModelSpanPart) {
        guard let recorder else { return }
        let now = ModelSpans.now()
        recorder.recordModelSpan(part, backward: backward, from: mark, to: now)
        mark = now
    }

    /// Starts the next part now: the time since the last mark belongs to no part.
    @inline(__always) mutating func skip() {
        guard recorder != nil else { return }
        mark = ModelSpans.now()
    }
}

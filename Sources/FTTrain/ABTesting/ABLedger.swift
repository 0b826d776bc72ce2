/// The A/B predictions served so far, each joined with its latest feedback: what a log file holds,
/// in memory. ``ABLog`` keeps one up to date as it writes (so feedback for an unknown request is
/// refused before it reaches the file), the reader rebuilds one from a file, and ``ABReport`` is
/// computed from one.
///
/// Feedback for a request that already has some replaces it (a client correcting a label); the
/// report counts each input of a request once, with its latest true label.
public struct ABLedger: Sendable {
    /// One served request and, once the client sent it, the true label of each of its inputs.
    public struct Entry: Equatable, Sendable {
        public var prediction: ABPrediction
        public var trueLabels: [String]?
    }

    /// Entries by request id.
    public private(set) var entries: [String: Entry] = [:]
    /// Request ids in the order they were served (reports and tests iterate in a stable order).
    public private(set) var order: [String] = []
    /// How many feedback records were applied (corrections included).
    public private(set) var feedbackCount = 0

    public init() {}

    /// Checks that `record` can be applied without changing anything: a prediction needs a new id,
    /// a feedback an id already served and one label per input.
    public func check(_ record: ABLogRecord) throws(ABTestingError) {
        switch record {
        case .prediction(let prediction):
            guard !prediction.id.isEmpty else { throw .badRecord("a prediction has an empty request id") }
            guard !prediction.labels.isEmpty else { throw .badRecord("prediction \"\(prediction.id)\" has no labels") }
            guard entries[prediction.id] == nil else { throw .duplicateRequest(prediction.id) }
        case .feedback(let feedback):
            guard let entry = entries[feedback.id] else { throw .unknownRequest(feedback.id) }
            guard feedback.labels.count == entry.prediction.labels.count else {
                throw .feedbackCount(id: feedback.id, expected: entry.prediction.labels.count, found: feedback.labels.count)
            }
        }
    }

    /// Applies `record` after ``check(_:)``; on error nothing changes.
    public mutating func apply(_ record: ABLogRecord) throws(ABTestingError) {
        try check(record)
        switch record {
        case .prediction(let prediction):
            entries[prediction.id] = Entry(prediction: prediction, trueLabels: nil)
            order.append(prediction.id)
        case .feedback(let feedback):
            entries[feedback.id]!.trueLabels = feedback.labels
            feedbackCount += 1
        }
    }

    /// The entry of request `id`, if it was served.
    public subscript(id: String) -> Entry? { entries[id] }
}

extension ClassificationMetrics {
    /// The index of the largest value of a non-empty row of probabilities or logits, ties broken
    /// to the lowest index as `numpy.argmax` and `torch.argmax` do. A NaN counts as the largest
    /// value (numpy's rule: the first NaN wins), so a diverged model shows up as predicting a fixed
    /// class rather than a silently plausible one.
    public static func argmax(_ row: some Collection<Float>) -> Int {
        precondition(!row.isEmpty, "argmax of an empty row")
        var best = 0
        var bestValue = row.first!
        if bestValue.isNaN { return 0 }
        for (i, value) in row.enumerated().dropFirst() {
            if value.isNaN { return i }
            if value > bestValue {  // strict: an equal later value never replaces the first
                best = i
                bestValue = value
            }
        }
        return best
    }

    /// ``argmax(_:)`` of each row.
    public static func argmax(rows: [[Float]]) -> [Int] {
        rows.map { argmax($0) }
    }

    /// ``argmax(_:)`` of each row of a flat row-major `(N, K)` buffer, `K = classCount`:
    /// the predictions from the classifier head's logits as the model returns them.
    public static func argmax(flat values: [Float], classCount: Int) -> [Int] {
        precondition(classCount > 0 && values.count % classCount == 0, "buffer is not (N, \(classCount))")
        return (0..<(values.count / classCount)).map { i in
            argmax(values[(i * classCount)..<((i + 1) * classCount)])
        }
    }
}

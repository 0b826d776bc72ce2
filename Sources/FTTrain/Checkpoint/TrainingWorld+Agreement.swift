extension TrainingWorld {
    /// Collective: true on every rank exactly when `ok` is true on every rank. It doubles as a
    /// barrier, and lets all ranks take the same path after a step that may fail on one of them
    /// (a rank that threw alone would leave the others waiting in the next collective).
    func allRanksSucceeded(_ ok: Bool) throws -> Bool {
        guard size > 1 else { return ok }
        var failures: Float = ok ? 0 : 1
        try averageInPlace(&failures, count: 1)
        return failures == 0
    }
}

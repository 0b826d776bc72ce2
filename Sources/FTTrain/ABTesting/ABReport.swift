/// Per-arm accuracy of the A/B routes of a ledger, with 95% intervals and the two-proportion test
/// between arms: what `fttrain ab-report` prints and `GET /v1/ab` returns.
///
/// Counting: `requests` is every request the arm served; `n` counts the *inputs* of the requests
/// that got feedback (a request of one text is one trial, of three texts three), `correct` those
/// whose predicted label equals the true one. The statistics are those of ``ABStatistics``.
public struct ABReport: Equatable, Sendable {
    /// One arm of a route.
    public struct ArmSummary: Equatable, Sendable {
        public var arm: String
        /// The models that answered for the arm (one, unless the route was re-pointed mid-test).
        public var models: [String]
        /// Requests served.
        public var requests: Int
        /// Inputs of the requests that got feedback.
        public var n: Int
        /// Of those, inputs predicted right.
        public var correct: Int
        /// `correct / n`, `nil` when `n` is 0.
        public var accuracy: Double? { n > 0 ? Double(correct) / Double(n) : nil }
        /// The 95% Wilson interval of the accuracy, `nil` when `n` is 0.
        public var interval: ABStatistics.Interval? { ABStatistics.wilsonInterval(successes: correct, trials: n) }
    }

    /// Arm `a` against arm `b`.
    public struct Comparison: Equatable, Sendable {
        public var a: String
        public var b: String
        /// accuracy(a) − accuracy(b); `nil` when either has no feedback.
        public var difference: Double?
        /// Newcombe's 95% interval of the difference.
        public var differenceInterval: ABStatistics.Interval?
        /// The pooled two-proportion z-test (`nil` when undefined, see ``ABStatistics``).
        public var test: ABStatistics.ZTest?
    }

    /// One A/B route.
    public struct RouteSummary: Equatable, Sendable {
        public var route: String
        /// In arm-name order.
        public var arms: [ArmSummary]
        /// Every pair of arms, in arm-name order (one comparison for the usual two arms).
        public var comparisons: [Comparison]
    }

    /// In route-name order.
    public var routes: [RouteSummary]

    /// The report of `ledger`.
    ///
    /// - Parameters:
    ///   - route: only this route; `nil` for all.
    ///   - configuredArms: route → arm names that must have a row even before they served anything
    ///     (the server passes its configuration; a route listed here is reported even when idle).
    public init(ledger: ABLedger, route: String? = nil, configuredArms: [String: [String]] = [:]) {
        var arms: [String: [String: ArmSummary]] = [:]
        for (name, armNames) in configuredArms where route == nil || route == name {
            for arm in armNames { arms[name, default: [:]][arm] = ArmSummary(arm: arm, models: [], requests: 0, n: 0, correct: 0) }
        }
        for id in ledger.order {
            let entry = ledger[id]!
            let p = entry.prediction
            guard route == nil || route == p.route else { continue }
            var summary = arms[p.route, default: [:]][p.arm] ?? ArmSummary(arm: p.arm, models: [], requests: 0, n: 0, correct: 0)
            summary.requests += 1
            if !summary.models.contains(p.model) { summary.models.append(p.model) }
            if let truth = entry.trueLabels {
                summary.n += truth.count
                summary.correct += zip(p.labels, truth).filter { $0 == $1 }.count
            }
            arms[p.route, default: [:]][p.arm] = summary
        }
        routes = arms.keys.sorted().map { name in
            let rows = arms[name]!.values.sorted { $0.arm < $1.arm }
            var comparisons: [Comparison] = []
            for i in rows.indices {
                for j in rows.indices where j > i {
                    comparisons.append(Self.compare(rows[i], rows[j]))
                }
            }
            return RouteSummary(route: name, arms: rows, comparisons: comparisons)
        }
    }

    private static func compare(_ a: ArmSummary, _ b: ArmSummary) -> Comparison {
        var difference: Double?
        if let pa = a.accuracy, let pb = b.accuracy { difference = pa - pb }
        return Comparison(
            a: a.arm, b: b.arm, difference: difference,
            differenceInterval: ABStatistics.differenceInterval(successes1: a.correct, trials1: a.n, successes2: b.correct, trials2: b.n),
            test: ABStatistics.twoProportionZTest(successes1: a.correct, trials1: a.n, successes2: b.correct, trials2: b.n))
    }
}

import Foundation

extension ABReport {
    /// The report as JSON (`fttrain ab-report --json`, `GET /v1/ab`), keys in a fixed order, an
    /// undefined statistic as `null`:
    ///
    ///     {"confidence":0.95,"routes":[{"route":"sentiment",
    ///       "arms":[{"arm":"full","models":["full"],"requests":10,"n":10,"correct":9,
    ///                "accuracy":0.9,"ci_low":0.59,"ci_high":0.98}, ...],
    ///       "comparisons":[{"a":"full","b":"lora","difference":0.1,"difference_ci_low":-0.2,
    ///                       "difference_ci_high":0.4,"z":0.7,"p_value":0.5}]}]}
    public var json: String {
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "null" }
            return "\(value)"
        }
        let routes = routes.map { route -> String in
            let arms = route.arms.map { arm in
                "{\"arm\":\(jsonQuoted(arm.arm)),\"models\":\(jsonQuoted(arm.models)),\"requests\":\(arm.requests),"
                    + "\"n\":\(arm.n),\"correct\":\(arm.correct),\"accuracy\":\(number(arm.accuracy)),"
                    + "\"ci_low\":\(number(arm.interval?.low)),\"ci_high\":\(number(arm.interval?.high))}"
            }
            let comparisons = route.comparisons.map { c in
                "{\"a\":\(jsonQuoted(c.a)),\"b\":\(jsonQuoted(c.b)),\"difference\":\(number(c.difference)),"
                    + "\"difference_ci_low\":\(number(c.differenceInterval?.low)),"
                    + "\"difference_ci_high\":\(number(c.differenceInterval?.high)),"
                    + "\"z\":\(number(c.test?.z)),\"p_value\":\(number(c.test?.pValue))}"
            }
            return "{\"route\":\(jsonQuoted(route.route)),\"arms\":[\(arms.joined(separator: ","))],"
                + "\"comparisons\":[\(comparisons.joined(separator: ","))]}"
        }
        return "{\"confidence\":0.95,\"routes\":[\(routes.joined(separator: ","))]}"
    }

    /// The report as a text table, one block per route, e.g.
    ///
    /// ```
    /// route sentiment
    ///   arm       requests      n  correct  accuracy  95% CI (Wilson)
    ///   full           533    533      451    0.8462  [0.8131, 0.8743]
    ///   lora           533    533      440    0.8255  [0.7907, 0.8555]
    ///   full - lora: difference +0.0206, 95% CI [-0.0236, +0.0646] (Newcombe); z = 0.92, p = 0.3590 (pooled two-proportion z-test)
    /// ```
    public var text: String {
        if routes.isEmpty { return "no A/B predictions\n" }
        func fixed(_ value: Double?, _ format: String = "%.4f") -> String {
            guard let value else { return "n/a" }
            return String(format: format, value)
        }
        var out = ""
        for route in routes {
            if !out.isEmpty { out += "\n" }
            let width = max(3, route.arms.map(\.arm.count).max() ?? 0)
            func left(_ text: String) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            func right(_ text: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - text.count)) + text }
            out += "route \(route.route)\n"
            out +=
                "  " + left("arm") + right("requests", 10) + right("n", 8) + right("correct", 9) + right("accuracy", 10)
                + "  95% CI (Wilson)\n"
            for arm in route.arms {
                let interval = arm.interval.map { String(format: "[%.4f, %.4f]", $0.low, $0.high) } ?? "n/a"
                out +=
                    "  " + left(arm.arm) + right(String(arm.requests), 10) + right(String(arm.n), 8)
                    + right(String(arm.correct), 9) + right(fixed(arm.accuracy), 10) + "  " + interval + "\n"
            }
            for c in route.comparisons {
                let interval = c.differenceInterval.map { String(format: "[%+.4f, %+.4f]", $0.low, $0.high) } ?? "n/a"
                let test = c.test.map { String(format: "z = %.2f, p = %.4g", $0.z, $0.pValue) } ?? "z, p undefined"
                out +=
                    "  \(c.a) - \(c.b): difference \(fixed(c.difference, "%+.4f")), 95% CI \(interval) (Newcombe); "
                    + "\(test) (pooled two-proportion z-test)\n"
            }
        }
        return out
    }
}

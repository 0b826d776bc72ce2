#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The statistics of an A/B report: a confidence interval for one arm's accuracy, and a test and
/// an interval for the difference between two arms. Each follows the statsmodels function named
/// on it (the reference numbers in `ABStatisticsTests` come from statsmodels, made by
/// `scripts/reference/make_ab_statistics_reference.py`); all return `nil` where the quantity is
/// undefined (no trials, or a test statistic of 0/0) rather than NaN.
public enum ABStatistics {
    /// The two-sided 95% normal quantile, Φ⁻¹(0.975) (scipy's `norm.ppf(0.975)`).
    public static let z95 = 1.959963984540054

    /// An interval `[low, high]` in [0, 1].
    public struct Interval: Equatable, Sendable {
        public var low: Double
        public var high: Double
    }

    /// The two-proportion z-test's statistic and two-sided p-value.
    public struct ZTest: Equatable, Sendable {
        public var z: Double
        public var pValue: Double
    }

    /// The Wilson score interval for `successes` out of `trials` (statsmodels
    /// `proportion_confint(count, nobs, alpha, method="wilson")`): with p = x/n,
    ///
    ///     centre = (p + z²/2n) / (1 + z²/n),   half = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²)
    ///
    /// Unlike the normal (Wald) interval it stays inside [0, 1] and is not degenerate at p = 0 or 1,
    /// which an arm with few feedbacks easily hits. `nil` when `trials` is 0.
    public static func wilsonInterval(successes: Int, trials: Int, z: Double = z95) -> Interval? {
        precondition(successes >= 0 && successes <= trials, "successes must be in 0...trials")
        guard trials > 0 else { return nil }
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        // Clamped: at p = 0 or 1 the bound is 0 or 1 exactly in exact arithmetic, ±1 ulp here.
        return Interval(low: max(0, centre - half), high: min(1, centre + half))
    }

    /// The pooled two-proportion z-test of H0: p₁ = p₂ (statsmodels `proportions_ztest([x1, x2],
    /// [n1, n2])`, whose default pools the variance under H0):
    ///
    ///     p̂ = (x₁ + x₂) / (n₁ + n₂),   z = (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)),
    ///     p-value = 2·(1 − Φ(|z|)) = erfc(|z| / √2)
    ///
    /// (erfc, not `1 - erf`, keeps the small p-values of large samples accurate). `nil` when an arm
    /// has no trials or when p̂ is 0 or 1 (both arms all right or all wrong: z is 0/0).
    public static func twoProportionZTest(
        successes1: Int, trials1: Int, successes2: Int, trials2: Int
    ) -> ZTest? {
        guard trials1 > 0, trials2 > 0 else { return nil }
        let n1 = Double(trials1), n2 = Double(trials2)
        let pooled = Double(successes1 + successes2) / (n1 + n2)
        let variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
        guard variance > 0 else { return nil }
        let z = (Double(successes1) / n1 - Double(successes2) / n2) / variance.squareRoot()
        return ZTest(z: z, pValue: erfc(abs(z) / 2.0.squareRoot()))
    }

    /// Newcombe's hybrid score interval for the difference p₁ − p₂ (his method 10; statsmodels
    /// `confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")`), built from
    /// the two arms' Wilson intervals [l₁, u₁] and [l₂, u₂]:
    ///
    ///     low  = d − √((p₁ − l₁)² + (u₂ − p₂)²),   high = d + √((u₁ − p₁)² + (p₂ − l₂)²)
    ///
    /// It keeps the Wilson interval's good coverage near 0 and 1 where the Wald interval
    /// (d ± z·√(p₁q₁/n₁ + p₂q₂/n₂)) collapses. `nil` when an arm has no trials.
    public static func differenceInterval(
        successes1: Int, trials1: Int, successes2: Int, trials2: Int, z: Double = z95
    ) -> Interval? {
        guard let w1 = wilsonInterval(successes: successes1, trials: trials1, z: z),
            let w2 = wilsonInterval(successes: successes2, trials: trials2, z: z)
        else { return nil }
        let p1 = Double(successes1) / Double(trials1), p2 = Double(successes2) / Double(trials2)
        let d = p1 - p2
        let low = d - ((p1 - w1.low) * (p1 - w1.low) + (w2.high - p2) * (w2.high - p2)).squareRoot()
        let high = d + ((w1.high - p1) * (w1.high - p1) + (p2 - w2.low) * (p2 - w2.low)).squareRoot()
        return Interval(low: low, high: high)
    }
}

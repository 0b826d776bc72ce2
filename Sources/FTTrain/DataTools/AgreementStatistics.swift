/// Chance-corrected agreement between annotators over integer-coded categories `0..<k`.
///
/// The formulas are the textbook ones, written to equal the reference implementations exactly
/// (scripts/reference/agreement_reference.py): scikit-learn's `cohen_kappa_score` (with `weights`),
/// statsmodels' `cohen_kappa` and `fleiss_kappa`, and the `krippendorff` package's nominal alpha.
/// A statistic whose expected disagreement is zero (every rating the same category) is undefined
/// and returned as NaN, as those libraries do.
public enum AgreementStatistics {
    /// Weights of Cohen's weighted kappa: disagreement between categories i and j costs 0 (plain
    /// kappa: any disagreement costs 1), |i-j| (linear) or (i-j)² (quadratic).
    public enum Weights: String, Sendable, CaseIterable {
        case none, linear, quadratic

        func cost(_ i: Int, _ j: Int) -> Double {
            switch self {
            case .none: return i == j ? 0 : 1
            case .linear: return Double(abs(i - j))
            case .quadratic: return Double((i - j) * (i - j))
            }
        }
    }

    /// The k×k confusion of two annotators over the items both rated: `[a's category][b's category]`.
    public static func confusion(_ a: [Int?], _ b: [Int?], categories k: Int) -> [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (x, y) in zip(a, b) {
            if let x, let y { m[x][y] += 1 }
        }
        return m
    }

    /// Cohen's kappa of two annotators (items either left unrated are skipped):
    /// κ = 1 − Σ w·observed / Σ w·expected, expected from the product of the marginals.
    public static func cohenKappa(_ a: [Int?], _ b: [Int?], categories k: Int, weights: Weights = .none) -> Double {
        let m = confusion(a, b, categories: k)
        let n = Double(m.joined().reduce(0, +))
        guard n > 0 else { return .nan }
        let rows = m.map { Double($0.reduce(0, +)) }
        let cols = (0..<k).map { j in Double(m.reduce(0) { $0 + $1[j] }) }
        var observed = 0.0, expected = 0.0
        for i in 0..<k {
            for j in 0..<k {
                let w = weights.cost(i, j)
                observed += w * Double(m[i][j])
                expected += w * rows[i] * cols[j] / n
            }
        }
        guard expected > 0 else { return .nan }
        return 1 - observed / expected
    }

    /// Fleiss' kappa from per-item category counts (`counts[item][category]`, every item rated by the
    /// same number of annotators): (P̄ − P̄e) / (1 − P̄e).
    public static func fleissKappa(counts: [[Int]]) -> Double {
        guard let first = counts.first else { return .nan }
        let raters = Double(first.reduce(0, +))
        let items = Double(counts.count)
        guard raters > 1 else { return .nan }
        let k = first.count
        var categoryTotals = [Double](repeating: 0, count: k)
        var meanAgreement = 0.0
        for row in counts {
            var squares = 0.0
            for (j, c) in row.enumerated() {
                categoryTotals[j] += Double(c)
                squares += Double(c * c)
            }
            meanAgreement += (squares - raters) / (raters * (raters - 1))
        }
        meanAgreement /= items
        let chance = categoryTotals.reduce(0.0) { $0 + ($1 / (items * raters)) * ($1 / (items * raters)) }
        guard chance < 1 else { return .nan }
        return (meanAgreement - chance) / (1 - chance)
    }

    /// Krippendorff's alpha for nominal data, missing ratings allowed (`ratings[item][annotator]`,
    /// nil = not rated; items with fewer than two ratings do not count): 1 − D_o / D_e from the
    /// coincidence matrix, each pair of ratings of an item weighted 1/(m_u − 1).
    public static func krippendorffAlphaNominal(_ ratings: [[Int?]], categories k: Int) -> Double {
        var coincidence = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        for item in ratings {
            let values = item.compactMap { $0 }
            let m = values.count
            guard m >= 2 else { continue }
            var counts = [Double](repeating: 0, count: k)
            for v in values { counts[v] += 1 }
            for c in 0..<k where counts[c] > 0 {
                for d in 0..<k where counts[d] > 0 {
                    let pairs = c == d ? counts[c] * (counts[c] - 1) : counts[c] * counts[d]
                    coincidence[c][d] += pairs / Double(m - 1)
                }
            }
        }
        let totals = coincidence.map { $0.reduce(0, +) }
        let n = totals.reduce(0, +)
        guard n > 1 else { return .nan }
        var observed = 0.0, expected = 0.0
        for c in 0..<k {
            for d in 0..<k where c != d {
                observed += coincidence[c][d]
                expected += totals[c] * totals[d]
            }
        }
        guard expected > 0 else { return .nan }
        return 1 - (n - 1) * observed / expected
    }
}

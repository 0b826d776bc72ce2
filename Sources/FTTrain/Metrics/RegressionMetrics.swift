import Foundation

/// Regression metrics as scikit-learn and SciPy compute them: `mean_squared_error`, its root,
/// `mean_absolute_error`, `r2_score`, `scipy.stats.pearsonr` and `scipy.stats.spearmanr` (Pearson
/// on average ranks, ties sharing the mean of their ranks). Sums are taken in Double.
public struct RegressionMetrics: Sendable, Equatable {
    public let mse: Double
    public let rmse: Double
    public let mae: Double
    /// The coefficient of determination; nil when the targets are all equal (sklearn then gives 1
    /// or 0 by convention, which says nothing).
    public let r2: Double?
    /// Pearson's r; nil when either side is constant (SciPy's NaN).
    public let pearson: Double?
    /// Spearman's ρ; nil when either side is constant.
    public let spearman: Double?
    /// The evaluation loss (the model's own MSE in float32), when given.
    public let loss: Double?
    public let count: Int

    /// - Precondition: `targets` and `predictions` have the same length.
    public init(targets: [Double], predictions: [Double], loss: Double? = nil) {
        precondition(targets.count == predictions.count, "one prediction per target")
        let n = Double(targets.count)
        count = targets.count
        self.loss = loss
        guard count > 0 else {
            (mse, rmse, mae, r2, pearson, spearman) = (0, 0, 0, nil, nil, nil)
            return
        }
        var squared = 0.0, absolute = 0.0
        for (y, p) in zip(targets, predictions) {
            squared += (y - p) * (y - p)
            absolute += abs(y - p)
        }
        mse = squared / n
        rmse = mse.squareRoot()
        mae = absolute / n
        let mean = targets.reduce(0, +) / n
        let total = targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        r2 = total > 0 ? 1 - squared / total : nil
        pearson = Self.pearson(targets, predictions)
        spearman = Self.pearson(Self.averageRanks(targets), Self.averageRanks(predictions))
    }

    /// Pearson's correlation coefficient, nil when either side has no variance.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count == y.count, x.count > 1 else { return nil }
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return nil }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// 1-based ranks, ties given the mean of the ranks they span (`scipy.stats.rankdata`'s `average`).
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = rank }
            i = j + 1
        }
        return ranks
    }

    /// `eval_mse`, `eval_rmse`, `eval_mae`, `eval_r2`, `eval_pearson`, `eval_spearman` (and
    /// `eval_loss`) with `prefix`; undefined values left out, as strict JSON has no NaN.
    public func dictionary(prefix: String = "eval_") -> [String: Double] {
        var values: [String: Double] = ["mse": mse, "rmse": rmse, "mae": mae]
        if let r2 { values["r2"] = r2 }
        if let pearson { values["pearson"] = pearson }
        if let spearman { values["spearman"] = spearman }
        if let loss { values["loss"] = loss }
        return Dictionary(uniqueKeysWithValues: values.map { (prefix + $0.key, $0.value) })
    }

    /// A short text report for the log and `regression_report.txt`.
    public func report(digits: Int = 4) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "undefined" }
        return [
            "examples \(count)", "mse      \(f(mse))", "rmse     \(f(rmse))", "mae      \(f(mae))", "r2       \(f(r2))",
            "pearson  \(f(pearson))", "spearman \(f(spearman))",
        ].joined(separator: "\n") + "\n"
    }
}

import Foundation

/// Regression metrics over several outputs, as scikit-learn computes them with
/// `multioutput='uniform_average'`: the mean over outputs of each output's `mean_squared_error`,
/// `root_mean_squared_error`, `mean_absolute_error` and `r2_score`; Pearson's and Spearman's
/// coefficients (`scipy.stats.pearsonr`, `spearmanr`) per output and their mean. Each output's
/// values are `RegressionMetrics` of its column.
public struct MultiOutputRegressionMetrics: Sendable, Equatable {
    public let outputNames: [String]
    /// One output's metrics per output, in output order.
    public let perOutput: [RegressionMetrics]
    public let mse: Double
    /// The mean of the outputs' RMSEs (sklearn's `root_mean_squared_error`), not √mse.
    public let rmse: Double
    public let mae: Double
    /// The mean of the outputs' R²; nil when an output's targets are constant (its R² undefined).
    public let r2: Double?
    /// The mean of the outputs' coefficients; nil when one is undefined (a constant column).
    public let pearson: Double?
    public let spearman: Double?
    /// The evaluation loss (the model's MSE over every entry, in float32), when given.
    public let loss: Double?
    public let count: Int

    /// - Parameters:
    ///   - targets: (N, L) row-major.
    ///   - predictions: (N, L) row-major.
    public init(targets: [Double], predictions: [Double], outputNames: [String], loss: Double? = nil) {
        let L = outputNames.count
        precondition(L > 0 && targets.count == predictions.count && targets.count % L == 0, "(N, L) targets and predictions")
        let N = targets.count / L
        self.outputNames = outputNames
        self.loss = loss
        count = N
        perOutput = (0..<L).map { k in
            RegressionMetrics(
                targets: (0..<N).map { targets[$0 * L + k] }, predictions: (0..<N).map { predictions[$0 * L + k] })
        }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        func meanIfAll(_ values: [Double?]) -> Double? {
            let defined = values.compactMap { $0 }
            return defined.count == values.count ? mean(defined) : nil
        }
        mse = mean(perOutput.map(\.mse))
        rmse = mean(perOutput.map(\.rmse))
        mae = mean(perOutput.map(\.mae))
        r2 = meanIfAll(perOutput.map(\.r2))
        pearson = meanIfAll(perOutput.map(\.pearson))
        spearman = meanIfAll(perOutput.map(\.spearman))
    }

    /// The averages as `eval_mse`, `eval_rmse`, `eval_mae`, `eval_r2`, `eval_pearson`,
    /// `eval_spearman` (so `metric_for_best_model: rmse` reads the average), each output's as
    /// `eval_mse_<output>`…, and `eval_loss`; undefined values left out.
    public func dictionary(prefix: String = "eval_") -> [String: Double] {
        var values: [String: Double] = ["mse": mse, "rmse": rmse, "mae": mae]
        if let r2 { values["r2"] = r2 }
        if let pearson { values["pearson"] = pearson }
        if let spearman { values["spearman"] = spearman }
        if let loss { values["loss"] = loss }
        for (name, metrics) in zip(outputNames, perOutput) {
            for (key, value) in metrics.dictionary(prefix: "") { values["\(key)_\(name)"] = value }
        }
        return Dictionary(uniqueKeysWithValues: values.map { (prefix + $0.key, $0.value) })
    }

    /// A table of each output's metrics and their average, for the log and `regression_report.txt`.
    public func report(digits: Int = 4) -> String {
        let columns = ["mse", "rmse", "mae", "r2", "pearson", "spearman"]
        let width = max(outputNames.map(\.count).max() ?? 0, "average".count)
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(n - s.count, 0)) + s }
        func f(_ v: Double?) -> String { pad(v.map { String(format: "%.\(digits)f", $0) } ?? "undefined", 11) }
        var lines = [pad("", width) + columns.map { pad($0, 11) }.joined(), ""]
        for (name, m) in zip(outputNames, perOutput) {
            lines.append(pad(name, width) + [m.mse, m.rmse, m.mae, m.r2, m.pearson, m.spearman].map(f).joined())
        }
        lines.append("")
        lines.append(pad("average", width) + [mse, rmse, mae, r2, pearson, spearman].map(f).joined())
        lines.append("")
        lines.append("\(count) examples, \(outputNames.count) outputs (uniform average)")
        return lines.joined(separator: "\n") + "\n"
    }
}

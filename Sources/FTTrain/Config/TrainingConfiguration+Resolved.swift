import Foundation

/// The values HF derives from unset settings, in one place so the trainer and the log agree.
extension TrainingConfiguration {
    /// Steps between evaluations: `eval_steps`, or `logging_steps` when it is null or 0 (as HF).
    public var resolvedEvalSteps: Int {
        if let evalSteps, evalSteps > 0 { return evalSteps }
        return loggingSteps
    }

    /// The metric that picks the best checkpoint: `metric_for_best_model`, or `loss`.
    public var resolvedMetricForBestModel: String { metricForBestModel ?? "loss" }

    /// Whether larger is better for the best-model metric: `greater_is_better`, or (as HF) false
    /// exactly when the metric's name ends in `loss` (`hamming_loss` too).
    /// The error metrics of regression (`mse`, `rmse`, `mae`) are lower-is-better too.
    public var resolvedGreaterIsBetter: Bool {
        greaterIsBetter
            ?? !(resolvedMetricForBestModel.hasSuffix("loss")
            || ["mse", "rmse", "mae"].contains(resolvedMetricForBestModel.replacingOccurrences(of: "eval_", with: "")))
    }

    /// The format to read `path` with: `data_format`, or what the extension implies (nil if neither).
    public func resolvedDataFormat(forFile path: String) -> DataFormat? {
        dataFormat ?? DataFormat.inferred(fromPath: path)
    }

    /// True when neither `validation_file` nor `test_file` is given, so `train_file` is split
    /// (stratified, by `split_ratios`) into train, validation and test.
    public var splitsTrainFile: Bool { validationFile == nil && testFile == nil }

    /// `seed` as the RNG's 64-bit seed (negative seeds map by bit pattern).
    public var rngSeed: UInt64 { UInt64(bitPattern: Int64(seed)) }

    /// How data files are read: format, columns, cleaning, bad rows.
    public var readOptions: DataReadOptions {
        DataReadOptions(
            format: dataFormat, columns: DataColumns(text: textColumn, textPair: textPairColumn, label: labelColumn, labels: labelColumns?.names),
            cleaning: TextCleaning(stripHTML: stripHTML, collapseWhitespace: collapseWhitespace, dropSymbols: dropSymbols),
            skipBadRows: skipBadRows)
    }

    /// The effective configuration for the run log: one `key: value` line per setting, sorted by key.
    /// Null settings that HF resolves show what they resolve to, e.g. `eval_steps: null (→ 500, logging_steps)`.
    public func describe() -> String {
        ConfigurationKey.all.sorted { $0.name < $1.name }.map { key in
            var line = "\(key.name): \(key.display(self))"
            switch key.name {
            case "eval_steps" where evalSteps == nil || evalSteps == 0:
                line += " (→ \(resolvedEvalSteps), logging_steps)"
            case "metric_for_best_model" where metricForBestModel == nil:
                line += " (→ loss)"
            case "greater_is_better" where greaterIsBetter == nil:
                line += " (→ \(resolvedGreaterIsBetter), from \(resolvedMetricForBestModel))"
            case "data_format" where dataFormat == nil:
                if let trainFile, let format = DataFormat.inferred(fromPath: trainFile) {
                    line += " (→ \(format.rawValue), from the extension)"
                }
            case "classifier_dropout" where classifierDropout == nil && hiddenDropoutProb != nil:
                line += " (→ \(hiddenDropoutProb!), hidden_dropout_prob)"
            default:
                break
            }
            return line
        }.joined(separator: "\n")
    }

    /// The settings for `--help`: per group, `--flag <value>` with its one-line help and default.
    public static func helpText() -> String {
        var lines: [String] = []
        for group in ConfigurationKey.Group.allCases {
            lines.append("\(group.rawValue):")
            for key in ConfigurationKey.all where key.group == group {
                let usage = "  \(key.flag) \(key.placeholder)"
                let padded =
                    usage.count < 42 ? usage.padding(toLength: 42, withPad: " ", startingAt: 0) : usage + "\n" + String(repeating: " ", count: 42)
                let fallback = key.defaultText == "null" ? "" : " (default: \(key.defaultText))"
                lines.append(padded + key.help + fallback)
            }
            lines.append("")
        }
        return lines.dropLast().joined(separator: "\n")
    }
}

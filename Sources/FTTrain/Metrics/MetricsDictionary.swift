extension ClassificationMetrics {
    /// The metrics as a flat dictionary for `metrics.json` and the log history, with Hugging Face
    /// Trainer-style keys: every key starts with `prefix` (`"eval_"` during training, `"test_"` for
    /// the final test split), as HF prefixes `compute_metrics` results with `metric_key_prefix`.
    ///
    /// Keys (shown with `prefix = "eval_"`):
    ///
    /// | key | value |
    /// |---|---|
    /// | `eval_loss` | ``loss``, only when one was given |
    /// | `eval_accuracy` | ``accuracy`` |
    /// | `eval_precision_macro`, `eval_recall_macro`, `eval_f1_macro` | ``macroAverage`` |
    /// | `eval_precision_weighted`, `eval_recall_weighted`, `eval_f1_weighted` | ``weightedAverage`` |
    /// | `eval_auc_macro` | ``aucMacro``, only when defined |
    /// | `eval_f1_<name>` | F1 of each class, `<name>` its class name verbatim |
    ///
    /// Undefined values (`nil` loss or AUC) are left out rather than written as NaN, which strict
    /// JSON cannot hold. Per-class keys use the class name as given (case, spaces and non-ASCII
    /// kept). If any class is named `macro` or `weighted`, its key would overwrite an average, so
    /// then *every* per-class key becomes `eval_f1_class_<name>` instead — one rule for the whole
    /// run, and no key can collide.
    public func dictionary(prefix: String = "eval_") -> [String: Double] {
        var values: [String: Double] = [
            "accuracy": accuracy,
            "precision_macro": macroAverage.precision,
            "recall_macro": macroAverage.recall,
            "f1_macro": macroAverage.f1,
            "precision_weighted": weightedAverage.precision,
            "recall_weighted": weightedAverage.recall,
            "f1_weighted": weightedAverage.f1,
        ]
        if let loss { values["loss"] = loss }
        if let aucMacro { values["auc_macro"] = aucMacro }

        let clashes = classNames.contains { $0 == "macro" || $0 == "weighted" }
        let classKey = clashes ? "f1_class_" : "f1_"
        for (c, scores) in perClass.enumerated() {
            values[classKey + classNames[c]] = scores.f1
        }

        return Dictionary(uniqueKeysWithValues: values.map { (prefix + $0.key, $0.value) })
    }
}

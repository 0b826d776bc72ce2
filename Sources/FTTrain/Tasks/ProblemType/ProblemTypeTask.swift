import FTCore
import FTKernels
import FTModel
import Foundation

/// Sequence classification with Hugging Face's `problem_type` beyond single-label:
/// multi-label (a sigmoid per label, `BCEWithLogitsLoss`; micro/macro F1, subset accuracy and
/// Hamming loss at each label's threshold, a per-label table; with `tuneThresholds`, the
/// thresholds picked on the validation split after training) and regression (one output or
/// several, `MSELoss`; MSE, RMSE, MAE, R², Pearson, Spearman, per output and averaged). Data:
/// `ProblemTypeData`; the targets ride on the per-example path, L entries per example
/// (`EncodedDataset.targetsPerExample`).
public final class ProblemTypeTask: FineTuningTask, TaskFinishing {
    public let labels: [String]
    public let objective: any TaskObjective
    public let train: EncodedDataset
    public let validation: EncodedDataset
    public let test: EncodedDataset
    public var logLines: [String] { data.logLines }
    public let data: ProblemTypeData
    /// Multi-label: label k is predicted when its probability is at least `thresholds[k]` (tuned
    /// on the validation split by `finishTraining` when `tuneThresholds`).
    public private(set) var thresholds: [Double]
    /// Multi-label: pick each label's threshold on the validation split once training is over.
    public let tuneThresholds: Bool
    private let padTokenId: Int32

    /// The task over prepared `data`, every split encoded with `tokenizer` to at most `maxLength` tokens.
    /// - Parameters:
    ///   - threshold: every label's threshold, unless `thresholds` gives one per label.
    public init(
        data: ProblemTypeData, tokenizer: any EncoderTokenizer, maxLength: Int, threshold: Double = 0.5, thresholds: [Double]? = nil,
        tuneThresholds: Bool = false
    ) throws {
        self.data = data
        precondition(thresholds == nil || thresholds!.count == data.labels.count, "one threshold per label")
        self.thresholds = thresholds ?? [Double](repeating: threshold, count: data.labels.count)
        self.tuneThresholds = tuneThresholds
        labels = data.labels
        objective = try data.problemType.objective(classes: data.labels.count)
        padTokenId = tokenizer.padTokenId
        let width = data.labels.count
        func encode(_ examples: [TextExample]) -> EncodedDataset {
            EncodedDataset(
                encodings: examples.map { tokenizer.encode($0.text, pair: $0.textPair, maxLength: maxLength) },
                labels: data.targets(examples), targetsPerExample: width, texts: examples.map(\.text),
                pairs: examples.map(\.textPair), sources: examples.map(\.location.description))
        }
        train = encode(data.train)
        validation = encode(data.validation)
        test = encode(data.test)
    }

    /// Each split as JSON lines: `text`, `text_pair` (when used), `label` (a list of names, the
    /// number, or the list of numbers of a regression with several outputs), `source`.
    public func writeSplits(to directory: URL) throws {
        let problemType = data.problemType
        try JSONLines.writeSplits([("train", data.train), ("validation", data.validation), ("test", data.test)], to: directory) { example in
            var record: [String: Any] = ["text": example.text, "source": example.location.description]
            if problemType == .regression {
                let values = LabelKind.numbers(example.label)
                record["label"] = values.count == 1 ? values[0] as Any : values as Any
            } else {
                record["label"] = LabelKind.names(example.label) as Any
            }
            if let pair = example.textPair { record["text_pair"] = pair }
            return record
        }
    }

    public func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, prefix: String, batchSize: Int, world: TrainingWorld
    ) throws -> TaskEvaluation {
        let outputs = try HeadOutputs.compute(
            model: model, dataset: dataset, objective: objective, batchSize: batchSize, padTokenId: padTokenId, world: world)
        let labels = labels
        switch data.problemType {
        case .regression where labels.count > 1:
            return multiOutputEvaluation(outputs, dataset: dataset, prefix: prefix)
        case .regression:
            let metrics = RegressionMetrics(
                targets: dataset.labels.map { Double(RegressionObjective.value($0)) }, predictions: outputs.logits.map(Double.init),
                loss: outputs.loss)
            return TaskEvaluation(metrics: metrics.dictionary(prefix: prefix)) { output in
                let report = metrics.report(digits: 4)
                try report.write(to: output.appendingPathComponent("regression_report.txt"), atomically: true, encoding: .utf8)
                try JSONLines.write(
                    (0..<dataset.count).map { i in
                        [
                            "label": Double(RegressionObjective.value(dataset.labels[i])), "score": Double(outputs.logits[i]),
                            "source": dataset.sources[i],
                        ]
                    }, to: output.appendingPathComponent("predictions.jsonl"))
                return "\n" + report
            }
        default:
            let probabilities = outputs.logits.map(BinaryCrossEntropy.sigmoid)
            let metrics = MultiLabelMetrics(
                truth: dataset.labels, probabilities: probabilities, classNames: labels, thresholds: thresholds, loss: outputs.loss)
            let thresholds = thresholds
            return TaskEvaluation(metrics: metrics.dictionary(prefix: prefix)) { output in
                let report = metrics.report(digits: 4)
                try report.write(to: output.appendingPathComponent("classification_report.txt"), atomically: true, encoding: .utf8)
                let L = labels.count
                try JSONLines.write(
                    (0..<dataset.count).map { i -> [String: Any] in
                        let row = Array(probabilities[(i * L)..<((i + 1) * L)])
                        return [
                            "label": labels.indices.filter { dataset.labels[i * L + $0] != 0 }.map { labels[$0] },
                            "predicted": MultiLabelPrediction.chosen(row, labels: labels, thresholds: thresholds),
                            "probabilities": Dictionary(uniqueKeysWithValues: zip(labels, row.map(Double.init))),
                            "source": dataset.sources[i],
                        ]
                    }, to: output.appendingPathComponent("predictions.jsonl"))
                return "\n" + report
            }
        }
    }
}

extension ProblemTypeTask {
    /// Regression with several outputs: `MultiOutputRegressionMetrics`, `regression_report.txt`
    /// (a row per output and the average) and `predictions.jsonl` (`label` and `score` lists).
    func multiOutputEvaluation(_ outputs: HeadOutputs, dataset: EncodedDataset, prefix: String) -> TaskEvaluation {
        let L = labels.count
        let metrics = MultiOutputRegressionMetrics(
            targets: dataset.labels.map { Double(RegressionObjective.value($0)) }, predictions: outputs.logits.map(Double.init),
            outputNames: labels, loss: outputs.loss)
        return TaskEvaluation(metrics: metrics.dictionary(prefix: prefix)) { output in
            let report = metrics.report(digits: 4)
            try report.write(to: output.appendingPathComponent("regression_report.txt"), atomically: true, encoding: .utf8)
            try JSONLines.write(
                (0..<dataset.count).map { i in
                    [
                        "label": (0..<L).map { Double(RegressionObjective.value(dataset.labels[i * L + $0])) },
                        "score": (0..<L).map { Double(outputs.logits[i * L + $0]) }, "source": dataset.sources[i],
                    ]
                }, to: output.appendingPathComponent("predictions.jsonl"))
            return "\n" + report
        }
    }

    /// With `tuneThresholds` (multi-label): each label's threshold becomes the one with the best
    /// F1 on the validation split (`LabelThresholds.tune`), so the final `eval_*` (on the very rows
    /// tuned on, hence optimistic) and `test_*` metrics, the reports and `thresholds.json` use them.
    public func finishTraining(model: any SequenceModel, batchSize: Int, world: TrainingWorld, log: TrainingLog) throws {
        guard tuneThresholds, data.problemType == .multiLabelClassification else { return }
        guard validation.count > 0 else { throw ModelError.badInput("tune_thresholds needs a validation split, and it is empty") }
        let outputs = try HeadOutputs.compute(
            model: model, dataset: validation, objective: objective, batchSize: batchSize, padTokenId: padTokenId, world: world)
        let tuned = LabelThresholds.tune(
            truth: validation.labels, probabilities: outputs.logits.map(BinaryCrossEntropy.sigmoid), labels: labels.count,
            fallback: thresholds)
        let lines = labels.indices.map { k in
            labels[k] + " "
                + (tuned.f1[k].map { String(format: "%.4f (F1 %.4f)", tuned.thresholds[k], $0) }
                    ?? String(format: "%.4f (kept: no validation row has it)", tuned.thresholds[k]))
        }
        log.message("thresholds tuned on the validation split (\(validation.count) rows): " + lines.joined(separator: ", "))
        thresholds = tuned.thresholds
    }

    /// Multi-label: `thresholds.json` (label → threshold) for `predict` and `serve`.
    public func writeModelFiles(to directory: URL) throws {
        guard data.problemType == .multiLabelClassification else { return }
        try LabelThresholds.write(thresholds, labels: labels, to: directory)
    }
}

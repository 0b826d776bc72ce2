import FTCore
import FTKernels
import FTModel
import Foundation

/// Sequence classification with Hugging Face's `problem_type` beyond single-label:
/// multi-label (a sigmoid per label, `BCEWithLogitsLoss`; micro/macro F1, subset accuracy and
/// Hamming loss at `threshold`, a per-label table) and regression (one output, `MSELoss`; MSE,
/// RMSE, MAE, R², Pearson, Spearman). Data: `ProblemTypeData`; the targets ride on the
/// per-example path, L entries per example (`EncodedDataset.targetsPerExample`).
public final class ProblemTypeTask: FineTuningTask {
    public let labels: [String]
    public let objective: any TaskObjective
    public let train: EncodedDataset
    public let validation: EncodedDataset
    public let test: EncodedDataset
    public var logLines: [String] { data.logLines }
    public let data: ProblemTypeData
    /// Multi-label: a label is predicted when its probability is at least this.
    public let threshold: Double
    private let padTokenId: Int32

    /// The task over prepared `data`, every split encoded with `tokenizer` to at most `maxLength` tokens.
    public init(data: ProblemTypeData, tokenizer: BertTokenizer, maxLength: Int, threshold: Double = 0.5) throws {
        self.data = data
        self.threshold = threshold
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

    /// Each split as JSON lines: `text`, `text_pair` (when used), `label` (a list of names, or the
    /// number), `source`.
    public func writeSplits(to directory: URL) throws {
        let problemType = data.problemType
        try JSONLines.writeSplits([("train", data.train), ("validation", data.validation), ("test", data.test)], to: directory) { example in
            var record: [String: Any] = ["text": example.text, "source": example.location.description]
            record["label"] = problemType == .regression ? Double(example.label)! as Any : LabelKind.names(example.label) as Any
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
                truth: dataset.labels, probabilities: probabilities, classNames: labels, threshold: threshold, loss: outputs.loss)
            let threshold = threshold
            return TaskEvaluation(metrics: metrics.dictionary(prefix: prefix)) { output in
                let report = metrics.report(digits: 4)
                try report.write(to: output.appendingPathComponent("classification_report.txt"), atomically: true, encoding: .utf8)
                let L = labels.count
                try JSONLines.write(
                    (0..<dataset.count).map { i -> [String: Any] in
                        let row = Array(probabilities[(i * L)..<((i + 1) * L)])
                        return [
                            "label": labels.indices.filter { dataset.labels[i * L + $0] != 0 }.map { labels[$0] },
                            "predicted": MultiLabelPrediction.chosen(row, labels: labels, threshold: threshold),
                            "probabilities": Dictionary(uniqueKeysWithValues: zip(labels, row.map(Double.init))),
                            "source": dataset.sources[i],
                        ]
                    }, to: output.appendingPathComponent("predictions.jsonl"))
                return "\n" + report
            }
        }
    }
}

/// What `predict` and `serve` give for a multi-label or regression head.
public enum MultiLabelPrediction {
    /// The labels whose probability is at least `threshold`, in label order.
    public static func chosen(_ probabilities: [Float], labels: [String], threshold: Double) -> [String] {
        labels.indices.filter { Double(probabilities[$0]) >= threshold }.map { labels[$0] }
    }

    /// One row's prediction as JSON: multi-label gives `labels` (every label with its
    /// probability, in label order) and `predicted` (the chosen set); regression gives `score`.
    public static func record(logits: ArraySlice<Float>, labels: [String], problemType: ProblemType, threshold: Double) -> [String: Any] {
        if problemType == .regression { return ["score": Double(logits.first ?? 0)] }
        let probabilities = logits.map(BinaryCrossEntropy.sigmoid)
        return [
            "labels": zip(labels, probabilities).map { ["label": $0.0, "probability": Double($0.1)] as [String: Any] },
            "predicted": chosen(probabilities, labels: labels, threshold: threshold),
        ]
    }
}

extension MultiLabelPrediction {
    /// `fttrain predict` (and `serve`) on a multi-label or regression model: one JSON object per
    /// text (`record(logits:…)`), the texts run in batches of `batchSize` sorted by length.
    public static func predict(
        texts: [(text: String, pair: String?)], model: any SequenceModel, tokenizer: BertTokenizer, labels: [String],
        problemType: ProblemType, threshold: Double, maxLength: Int, batchSize: Int
    ) throws -> [[String: Any]] {
        let L = model.numLabels
        guard L == labels.count, L > 0 else { throw ModelError.badInput("the model has \(L) outputs for \(labels.count) labels") }
        let dataset = EncodedDataset(
            encodings: texts.map { tokenizer.encode($0.text, pair: $0.pair, maxLength: maxLength) },
            labels: [Int32](repeating: 0, count: texts.count * L), targetsPerExample: L, texts: texts.map(\.text), pairs: texts.map(\.pair))
        let outputs = try HeadOutputs.compute(
            model: model, dataset: dataset, objective: try problemType.objective(classes: L), batchSize: max(batchSize, 1),
            padTokenId: tokenizer.padTokenId)
        return (0..<texts.count).map { i in
            record(logits: outputs.logits[(i * L)..<((i + 1) * L)], labels: labels, problemType: problemType, threshold: threshold)
        }
    }
}

import FTModel
import Foundation

/// Single-label text classification: labelled CSV/TSV/JSONL read, cleaned, de-duplicated and
/// split (`TextClassificationData`), encoded by the model's tokenizer; softmax cross-entropy with
/// optional class weights; accuracy, precision/recall/F1, AUC as scikit-learn computes them; a
/// classification report, a confusion matrix and the misclassified examples.
public final class SequenceClassificationTask: FineTuningTask {
    public let labels: [String]
    public let objective: any TaskObjective
    public let train: EncodedDataset
    public let validation: EncodedDataset
    public let test: EncodedDataset
    public var logLines: [String] { data.logLines }
    private let data: PreparedData
    private let padTokenId: Int32

    /// The data reader: reads, cleans, de-duplicates and splits the files of `options`, with
    /// label ids and imbalance handling (before any model is loaded, so a bad file fails first).
    /// - Throws: `DataError` naming the file and line of a bad row.
    public static func read(_ options: DataPreparationOptions) throws -> PreparedData {
        try TextClassificationData.prepare(options)
    }

    /// The task over prepared `data`, every split encoded with `tokenizer` to at most `maxLength` tokens.
    /// - Throws: `ModelError` when the class weights do not fit.
    public init(data: PreparedData, tokenizer: any EncoderTokenizer, maxLength: Int) throws {
        self.data = data
        labels = data.labelSet.labels
        objective = try SequenceClassificationObjective(classes: labels.count, classWeights: data.classWeights)
        padTokenId = tokenizer.padTokenId
        func encode(_ examples: [EncodedExample]) -> EncodedDataset {
            EncodedDataset.encode(
                texts: examples.map(\.text), pairs: examples.map(\.textPair),
                labels: examples.map { Int32($0.labelId) }, sources: examples.map(\.location.description),
                tokenizer: tokenizer, maxLength: maxLength)
        }
        train = encode(data.train)
        validation = encode(data.validation)
        test = encode(data.test)
    }

    public func writeSplits(to directory: URL) throws { try data.writeSplits(to: directory) }

    public func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, prefix: String, batchSize: Int,
        world: TrainingWorld
    ) throws -> TaskEvaluation {
        let predictions = try Predictions.compute(
            model: model, dataset: dataset, batchSize: batchSize,
            padTokenId: padTokenId, world: world)
        let result = try ClassificationMetrics.compute(
            labels: dataset.labels.map(Int.init), predictions: predictions.predictedClasses,
            probabilities: predictions.probabilities, classNames: labels,
            loss: predictions.loss)
        let labels = labels
        return TaskEvaluation(metrics: result.dictionary(prefix: prefix)) { output in
            let report = result.classificationReport(digits: 4)
            try report.write(to: output.appendingPathComponent("classification_report.txt"), atomically: true, encoding: .utf8)
            try result.confusionMatrixCSV().write(to: output.appendingPathComponent("confusion_matrix.csv"), atomically: true, encoding: .utf8)
            try Self.writeErrors(predictions: predictions, dataset: dataset, labels: labels, to: output.appendingPathComponent("errors.jsonl"))
            try Self.writePredictions(predictions, dataset: dataset, labels: labels, to: output.appendingPathComponent("predictions.jsonl"))
            return "\n" + report
        }
    }

    /// Misclassified examples, one JSON object per line: text (and pair), true and predicted
    /// label, the probability of every label, and where the example came from.
    static func writeErrors(predictions: Predictions, dataset: EncodedDataset, labels: [String], to url: URL) throws {
        var records: [[String: Any]] = []
        for (i, predicted) in predictions.predictedClasses.enumerated() where predicted != Int(dataset.labels[i]) {
            var record: [String: Any] = [
                "text": dataset.texts[i], "label": labels[Int(dataset.labels[i])], "predicted": labels[predicted],
                "probabilities": Dictionary(
                    uniqueKeysWithValues: labels.enumerated().map {
                        ($0.element, Double(predictions.probabilities[i * labels.count + $0.offset]))
                    }),
            ]
            if let pair = dataset.pairs[i] { record["text_pair"] = pair }
            if !dataset.sources.isEmpty { record["source"] = dataset.sources[i] }
            records.append(record)
        }
        try JSONLines.write(records, to: url)
    }
}

extension SequenceClassificationTask {
    /// Every example of the reported split, one JSON object per line: true and predicted label and
    /// the probability of every label (the report's ROC curves need them all, not only the errors).
    static func writePredictions(_ predictions: Predictions, dataset: EncodedDataset, labels: [String], to url: URL) throws {
        let records = predictions.predictedClasses.enumerated().lazy.map { (i, predicted) -> [String: Any] in
            [
                "label": labels[Int(dataset.labels[i])], "predicted": labels[predicted],
                "probabilities": Dictionary(
                    uniqueKeysWithValues: labels.enumerated().map {
                        ($0.element, Double(predictions.probabilities[i * labels.count + $0.offset]))
                    }),
            ]
        }
        try JSONLines.write(records, to: url)
    }
}

extension PreparedData {
    /// Each split as JSON lines: `text`, `text_pair` (when used), `label`, `source`.
    public func writeSplits(to directory: URL) throws {
        try JSONLines.writeSplits([("train", train), ("validation", validation), ("test", test)], to: directory) { example in
            var record: [String: Any] = [
                "text": example.text, "label": labelSet.label(for: example.labelId), "source": example.location.description,
            ]
            if let pair = example.textPair { record["text_pair"] = pair }
            return record
        }
    }
}

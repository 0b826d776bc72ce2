import FTCore
import FTModel
import Foundation

/// What `predict` and `serve` give for a multi-label or regression head.
public enum MultiLabelPrediction {
    /// The labels whose probability is at least their threshold, in label order.
    public static func chosen(_ probabilities: [Float], labels: [String], thresholds: [Double]) -> [String] {
        labels.indices.filter { Double(probabilities[$0]) >= thresholds[$0] }.map { labels[$0] }
    }

    /// One row's prediction as JSON: multi-label gives `labels` (every label with its
    /// probability, in label order) and `predicted` (the chosen set, each label at its
    /// threshold); regression gives `score` (one output) or `scores` and `outputs` (several:
    /// the values and the outputs' names, in output order).
    public static func record(logits: ArraySlice<Float>, labels: [String], problemType: ProblemType, thresholds: [Double]) -> [String: Any] {
        if problemType == .regression {
            if logits.count == 1 { return ["score": Double(logits.first!)] }
            return ["scores": logits.map(Double.init), "outputs": labels]
        }
        let probabilities = logits.map(BinaryCrossEntropy.sigmoid)
        return [
            "labels": zip(labels, probabilities).map { ["label": $0.0, "probability": Double($0.1)] as [String: Any] },
            "predicted": chosen(probabilities, labels: labels, thresholds: thresholds),
        ]
    }

    /// `record` with one threshold for every label.
    public static func record(logits: ArraySlice<Float>, labels: [String], problemType: ProblemType, threshold: Double) -> [String: Any] {
        record(logits: logits, labels: labels, problemType: problemType, thresholds: [Double](repeating: threshold, count: labels.count))
    }
}

extension MultiLabelPrediction {
    /// `fttrain predict` (and `serve`) on a multi-label or regression model: one JSON object per
    /// text (`record(logits:…)`), the texts run in batches of `batchSize` sorted by length; a
    /// multi-label label is chosen at `thresholds` (one per label), else at `threshold`.
    public static func predict(
        texts: [(text: String, pair: String?)], model: any SequenceModel, tokenizer: any EncoderTokenizer, labels: [String],
        problemType: ProblemType, threshold: Double = 0.5, thresholds: [Double]? = nil, maxLength: Int, batchSize: Int
    ) throws -> [[String: Any]] {
        let L = model.numLabels
        guard L == labels.count, L > 0 else { throw ModelError.badInput("the model has \(L) outputs for \(labels.count) labels") }
        let dataset = EncodedDataset(
            encodings: texts.map { tokenizer.encode($0.text, pair: $0.pair, maxLength: maxLength) },
            labels: [Int32](repeating: 0, count: texts.count * L), targetsPerExample: L, texts: texts.map(\.text), pairs: texts.map(\.pair))
        let outputs = try HeadOutputs.compute(
            model: model, dataset: dataset, objective: try problemType.objective(classes: L), batchSize: max(batchSize, 1),
            padTokenId: tokenizer.padTokenId)
        let thresholds = thresholds ?? [Double](repeating: threshold, count: L)
        return (0..<texts.count).map { i in
            record(logits: outputs.logits[(i * L)..<((i + 1) * L)], labels: labels, problemType: problemType, thresholds: thresholds)
        }
    }
}

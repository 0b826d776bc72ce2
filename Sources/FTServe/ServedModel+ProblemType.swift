import FTCore
import FTModel
import FTTrain
import Foundation
import Hummingbird

extension ServedModel {
    /// The `problem_type` of a multi-label or regression classifier's `config.json`; nil for a
    /// single-label one (and every other kind).
    static func servedProblemType(kind: Kind, directory: URL, adapterName: String?) -> ProblemType? {
        guard kind == .classifier, adapterName == nil, let type = ProblemType.of(modelDirectory: directory) else { return nil }
        return type == .singleLabelClassification ? nil : type
    }

    /// The head's raw outputs (one row of `labels.count` per encoding, in order) for a
    /// multi-label or regression model: no softmax (the route applies the sigmoid, or reads the score).
    func headRows(_ encodings: [TokenizerEncoding], problemType: ProblemType) throws -> [[Float]] {
        let L = labels.count
        let dataset = EncodedDataset(
            encodings: encodings, labels: [Int32](repeating: 0, count: encodings.count * L), targetsPerExample: L,
            texts: [String](repeating: "", count: encodings.count), pairs: [String?](repeating: nil, count: encodings.count))
        let outputs = try HeadOutputs.compute(
            model: backend.model, dataset: dataset, objective: try problemType.objective(classes: L), batchSize: max(encodings.count, 1),
            padTokenId: tokenizer.padTokenId)
        return (0..<encodings.count).map { Array(outputs.logits[($0 * L)..<(($0 + 1) * L)]) }
    }
}

extension ServeRoutes {
    /// `/v1/predict` on a multi-label or regression model: each prediction the object `fttrain
    /// predict` prints (`{"score": …}`, `{"outputs": […], "scores": […]}`, or every label with its
    /// probability and the chosen set at the model's `thresholds.json`, else 0.5).
    func problemTypePredictions(
        _ rows: [[Float]], _ model: ServedModel, _ problemType: ProblemType, _ context: ServeRequestContext
    ) throws -> Response {
        let predictions = try rows.map { row in
            let record = MultiLabelPrediction.record(logits: row[...], labels: model.labels, problemType: problemType, thresholds: model.thresholds)
            return String(
                decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        }
        return jsonResponse(
            "{\"id\": \(JSONText.string(context.state.requestId)), \"model\": \(JSONText.string(model.name)), "
                + "\"predictions\": [\(predictions.joined(separator: ", "))]}")
    }
}

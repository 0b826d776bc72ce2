import FTModel
import FTTrain
import Foundation

extension PredictCommand {
    /// A multi-label model (`problem_type: multi_label_classification`): every label with its
    /// probability and the chosen set, `{"labels": [{"label": …, "probability": …}], "predicted": […]}`;
    /// a regression model: `{"score": …}`, or with several outputs `{"outputs": […], "scores": […]}`.
    /// One JSON line per text. Multi-label thresholds: the model's `thresholds.json`, else 0.5;
    /// `--threshold` for all labels, then `--thresholds` per label.
    func printProblemType(
        _ problemType: ProblemType, texts: [(text: String, pair: String?)], model: any SequenceModel, tokenizer: any EncoderTokenizer,
        labels: [String]
    ) throws {
        var overrides: LabelThresholdSetting?
        if let thresholds {
            guard let setting = LabelThresholdSetting(text: thresholds) else {
                throw CLIError("--thresholds \(thresholds): expected label=threshold pairs separated by commas (joy=0.3,anger=0.6) or one number")
            }
            overrides = setting
        }
        guard problemType == .multiLabelClassification || (threshold == nil && overrides == nil) else {
            throw CLIError("--threshold and --thresholds apply to a multi-label model; \(model.architectureName) is a \(problemType.rawValue) model")
        }
        let perLabel =
            problemType == .multiLabelClassification
            ? try LabelThresholds.forPrediction(modelDirectory: self.model.url, labels: labels, threshold: threshold, overrides: overrides) : nil
        let records = try MultiLabelPrediction.predict(
            texts: texts, model: model, tokenizer: tokenizer, labels: labels, problemType: problemType, thresholds: perLabel,
            maxLength: min(inference.maxLength, model.maxSequenceLength), batchSize: inference.batchSize)
        var output = ""
        for record in records {
            let line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
            output += String(decoding: line, as: UTF8.self) + "\n"
            if output.utf8.count > 1 << 16 {
                print(output, terminator: "")
                output = ""
            }
        }
        print(output, terminator: "")
    }
}

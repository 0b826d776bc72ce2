import FTModel
import FTTrain
import Foundation

extension PredictCommand {
    /// A multi-label model (`problem_type: multi_label_classification`): every label with its
    /// probability and the chosen set, `{"labels": [{"label": …, "probability": …}], "predicted": […]}`;
    /// a regression model: `{"score": …}`. One JSON line per text.
    func printProblemType(
        _ problemType: ProblemType, texts: [(text: String, pair: String?)], model: any SequenceModel, tokenizer: BertTokenizer,
        labels: [String]
    ) throws {
        let records = try MultiLabelPrediction.predict(
            texts: texts, model: model, tokenizer: tokenizer, labels: labels, problemType: problemType, threshold: threshold,
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

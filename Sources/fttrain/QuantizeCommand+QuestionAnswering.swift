import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `quantize --eval-file` settings of a question-answering model (the windows and the decoding
/// `predict` uses).
struct QuantizeAnswerOptions: ParsableArguments {
    @Option(
        name: .customLong("doc-stride"),
        help: "Question answering: tokens shared by consecutive windows of a long context (default: 128, at most a third of --max-length).")
    var docStride: Int?

    @Flag(
        name: .customLong("version-2-with-negative"),
        help: "Question answering: answer \"\" when the null span wins and score with the SQuAD v2 script.")
    var versionTwoWithNegative = false
}

extension QuantizeCommand {
    /// A QA model's `--eval-file` (SQuAD JSON or JSON Lines): the float32 and the INT8 model (read
    /// back from `output`) answer every question; exact match, F1, their deltas and the answer
    /// agreement are printed and written to the report, and the lineage records them.
    func compareAnswers(source: any SequenceModel, output: URL, evalFile: String, settings: [String: Any]) throws {
        let examples = try SquadData.read(evalFile)
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)
        let pairs = examples.map { (question: $0.question, context: $0.context) }
        let length = min(inference.maxLength, source.maxSequenceLength)
        func answers(_ model: any SequenceModel) throws -> [PredictedAnswer] {
            try AnswerPrediction.answer(
                pairs: pairs, model: model, tokenizer: tokenizer, maxLength: length,
                docStride: answerOptions.docStride ?? min(128, length / 3),
                decoding: AnswerDecoding(versionTwoWithNegative: answerOptions.versionTwoWithNegative), batchSize: inference.batchSize)
        }
        let float32 = try answers(source)
        // The INT8 model as `predict` would load it: from the directory just written.
        let quantized = try ModelRegistry.load(modelDirectory: output, numLabels: QuestionAnsweringTask.outputNames.count)
        let int8 = try answers(quantized)
        let comparison = AnswerQuantizationComparison(
            examples: examples, float32: float32, int8: int8, versionTwo: answerOptions.versionTwoWithNegative)
        print(comparison.summary)
        var record = comparison.dictionary
        record["eval_file"] = evalFile
        record["kernel"] = Int8Products.kernel.rawValue
        let reportPath = report ?? output.appendingPathComponent("quantization_eval.json").path
        try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: reportPath))
        print("Wrote \(reportPath)")
        let metrics: [String: Any] = [
            "float32_exact_match": comparison.float32["exact_match"] ?? 0, "float32_f1": comparison.float32["f1"] ?? 0,
            "int8_exact_match": comparison.int8["exact_match"] ?? 0, "int8_f1": comparison.int8["f1"] ?? 0,
            "agreement": comparison.agreement,
        ]
        var lineage = try LineageRecord.derived(
            command: "quantize", source: model.path, settings: settings, metrics: LineageRecord.numericMetrics(metrics),
            inputs: [("evaluation", evalFile)])
        try lineage.write(into: [output])
    }
}

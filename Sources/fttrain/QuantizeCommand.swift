import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain quantize`: a dynamically quantised INT8 copy of an encoder model directory
/// (`QuantizedModelExport`), and with `--eval-file` how its predictions differ from float32's.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a dynamically quantised INT8 model directory (predict, embed and bench load it).",
        discussion: """
            The layers' query/key/value, attention output and feed-forward weights become int8 per output \
            channel (symmetric); inputs of those products are quantised per row at run time (uint8 with a zero \
            point) and multiplied with exact int32 sums (AVX-512 VNNI where the CPU has it; \
            FTTRAIN_INT8_KERNEL=portable forces the portable kernel). Embeddings, layer norms, biases, the \
            pooler and the classifier stay float32.
            With --eval-file FILE (CSV/TSV/JSONL with text and label columns) the float32 and INT8 models \
            classify it; accuracy, macro-F1, agreement and the largest probability change are printed and \
            written as JSON to --report (default OUT/quantization_eval.json). A question-answering model \
            (*ForQuestionAnswering) takes a SQuAD-format --eval-file (JSON or JSON Lines) instead: exact match, \
            F1, their deltas and the answer agreement.
            """)

    @OptionGroup var model: ModelDirectoryOption

    @OptionGroup var inference: ClassifierInferenceOptions

    @Option(name: .customLong("output-dir"), help: "Where to write the quantised model directory (must not exist).")
    var outputDir: String

    @Option(name: .customLong("eval-file"), help: "A labelled file to compare float32 and INT8 predictions on.")
    var evalFile: String?

    @Option(name: .customLong("text-column"), help: "The text column of --eval-file.")
    var textColumn = "text"

    @Option(name: .customLong("text-pair-column"), help: "The second-segment column of --eval-file, if any.")
    var textPairColumn: String?

    @Option(name: .customLong("label-column"), help: "The label column of --eval-file.")
    var labelColumn = "label"

    @Option(help: "Where to write the comparison as JSON (default OUT/quantization_eval.json).")
    var report: String?

    @OptionGroup var answerOptions: QuantizeAnswerOptions

    func validate() throws {
        if FileManager.default.fileExists(atPath: outputDir) { throw ValidationError("--output-dir \(outputDir) already exists") }
    }

    func run() throws {
        inference.applyThreads()
        let labels = try HuggingFaceExport.labels(modelDirectory: model.url)
        // The head `architectures` names (a token classifier's, a QA model's `qa_outputs`), as predict loads it.
        guard let source = try ModelRegistry.load(modelDirectory: model.url, numLabels: labels?.count ?? 0) as? EncoderModel else {
            throw CLIError("\(model.path): quantize reads encoder models (BERT, DistilBERT, RoBERTa, XLM-RoBERTa), not decoders")
        }
        guard !source.isQuantized else { throw CLIError("\(model.path) is already quantised (config.json has \(EncoderModel.quantizationKey))") }
        let output = URL(fileURLWithPath: outputDir, isDirectory: true)
        try QuantizedModelExport.write(model: source, sourceDirectory: model.url, to: output)
        print("Wrote \(outputDir) (INT8 kernel: \(Int8Products.kernel.rawValue))")
        var settings: [String: Any] = ["kernel": Int8Products.kernel.rawValue, "max_length": inference.maxLength, "batch_size": inference.batchSize]
        settings["eval_file"] = evalFile
        guard let evalFile else {
            var lineage = try LineageRecord.derived(command: "quantize", source: model.path, settings: settings)
            try lineage.write(into: [output])
            return
        }
        if AnswerPrediction.isQuestionAnswering(source) {
            return try compareAnswers(source: source, output: output, evalFile: evalFile, settings: settings)
        }
        if source.head == .tokenClassification {
            throw CLIError(
                "--eval-file: \(model.path) is a token classifier; quantize compares sequence classifiers and QA models only (quantize it without --eval-file)"
            )
        }
        guard let labels else { throw CLIError("--eval-file needs a classifier: \(model.path)/config.json has no id2label") }

        let options = DataReadOptions(columns: DataColumns(text: textColumn, textPair: textPairColumn, label: labelColumn))
        let examples = try DataReader.read(evalFile, options: options).examples
        let ids = try examples.map { example -> Int32 in
            guard let id = labels.firstIndex(of: example.label) else {
                throw CLIError("\(evalFile): label \"\(example.label)\" (\(example.location)) is not one of the model's labels \(labels)")
            }
            return Int32(id)
        }
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)
        let dataset = EncodedDataset.encode(
            texts: examples.map(\.text), pairs: examples.map(\.textPair), labels: ids, tokenizer: tokenizer,
            maxLength: min(inference.maxLength, source.config.maxPositionEmbeddings))
        let float32 = try Predictions.compute(model: source, dataset: dataset, batchSize: inference.batchSize, padTokenId: tokenizer.padTokenId)
        // The INT8 model as `predict` would load it: from the directory just written.
        let quantized = try EncoderModel.load(modelDirectory: output, numLabels: labels.count)
        let int8 = try Predictions.compute(model: quantized, dataset: dataset, batchSize: inference.batchSize, padTokenId: tokenizer.padTokenId)
        let comparison = try QuantizationComparison(labels: ids.map(Int.init), classNames: labels, float32: float32, int8: int8)
        print(comparison.summary)
        var record = comparison.dictionary
        record["eval_file"] = evalFile
        record["kernel"] = Int8Products.kernel.rawValue
        let reportPath = report ?? output.appendingPathComponent("quantization_eval.json").path
        try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: reportPath))
        print("Wrote \(reportPath)")
        var lineage = try LineageRecord.derived(
            command: "quantize", source: model.path, settings: settings, metrics: LineageRecord.numericMetrics(record),
            inputs: [("evaluation", evalFile)])
        try lineage.write(into: [output])
    }
}

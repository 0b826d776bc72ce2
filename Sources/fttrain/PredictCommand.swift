import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain predict`: class probabilities of a fine-tuned classifier for each input text.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract:
            "Print the predicted label and the probabilities of every label for each text (a token classifier: its entities with character offsets), one JSON line per text.",
        discussion: """
            Input: --input FILE (plain text with one text per line, or .csv/.tsv/.jsonl with a text column), \
            or plain text on standard input.
            With --adapter, --model-dir is the base model and the adapter (PEFT's format: adapter_config.json, \
            adapter_model.safetensors, e.g. a run's adapter/) is applied on top; several --adapter NAME=DIR share \
            one base model in memory and each text gets one line per adapter, with an "adapter" key. \
            A question-answering (QUESTION_ANS) or token-classification (TOKEN_CLS) adapter answers or tags \
            as the run's merged model/ does.
            """)

    @OptionGroup var model: ModelDirectoryOption

    @OptionGroup var inference: ClassifierInferenceOptions

    @Option(help: "A file of texts: plain text (one per line), or CSV/TSV/JSONL by extension. Default: standard input.")
    var input: String?

    @Option(name: .customLong("text-column"), help: "The text column of a CSV/TSV/JSONL input.")
    var textColumn = "text"

    @Option(name: .customLong("text-pair-column"), help: "The second-segment column of a CSV/TSV/JSONL input, if any.")
    var textPairColumn: String?

    @Flag(help: "A token classifier: also print every word with its label and that label's probability (\"words\").")
    var words = false

    @Option(
        name: .customLong("doc-stride"),
        help: "Question answering: tokens shared by consecutive windows of a long context (default: 128, at most a third of --max-length).")
    var docStride: Int?

    @Option(name: .customLong("n-best-size"), help: "Question answering: start and end logits paired per window.")
    var nBestSize = 20

    @Option(name: .customLong("max-answer-length"), help: "Question answering: the longest answer in tokens.")
    var maxAnswerLength = 30

    @Flag(name: .customLong("version-2-with-negative"), help: "Question answering: answer \"\" when the null span wins (SQuAD v2).")
    var versionTwoWithNegative = false

    @Option(name: .customLong("null-score-diff-threshold"), help: "Question answering, SQuAD v2: the null score's margin.")
    var nullScoreDiffThreshold: Float = 0

    @Option(help: "A multi-label model: a label is chosen when its probability is at least this (default: the model's thresholds.json, else 0.5).")
    var threshold: Double?

    @Option(
        help: ArgumentHelp(
            "A multi-label model: per-label thresholds over the model's thresholds.json, e.g. joy=0.3,anger=0.6 (or one number for all).",
            valueName: "label=t,..."))
    var thresholds: String?

    @Option(
        name: .customLong("adapter"),
        help: ArgumentHelp(
            "An adapter directory (LoRA in PEFT's format, or fttrain's bottleneck adapters), as DIR or NAME=DIR; repeat for several.",
            valueName: "[name=]dir"))
    var adapters: [String] = []

    func run() throws {
        inference.applyThreads()
        if !adapters.isEmpty { return try runWithAdapters() }
        guard let labels = try HuggingFaceExport.labels(modelDirectory: model.url) else {
            throw CLIError("\(model.path)/config.json has no id2label: not a fine-tuned classifier")
        }
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)  // tokenizer.json or vocab.txt
        let classifier = try ModelRegistry.load(modelDirectory: model.url, numLabels: labels.count)
        (classifier as? EncoderModel)?.prepareForInference()
        if AnswerPrediction.isQuestionAnswering(classifier) {
            return try printAnswers(model: classifier, tokenizer: tokenizer)
        }
        let texts = try readTexts()
        if classifier.architectureName.hasSuffix("ForTokenClassification") {
            return try printEntities(texts: texts.map(\.text), model: classifier, tokenizer: tokenizer, labels: labels)
        }
        if let problemType = ProblemType.of(modelDirectory: model.url), problemType != .singleLabelClassification {
            return try printProblemType(problemType, texts: texts, model: classifier, tokenizer: tokenizer, labels: labels)
        }
        let dataset = EncodedDataset.encode(
            texts: texts.map(\.text), pairs: texts.map(\.pair),
            labels: [Int32](repeating: 0, count: texts.count), tokenizer: tokenizer,
            maxLength: min(inference.maxLength, classifier.maxSequenceLength))
        let predictions = try Predictions.compute(
            model: classifier, dataset: dataset, batchSize: inference.batchSize,
            padTokenId: tokenizer.padTokenId)
        var output = ""
        for (i, predicted) in predictions.predictedClasses.enumerated() {
            let probabilities = labels.enumerated().map { "\(jsonString($0.element)): \(predictions.probabilities[i * labels.count + $0.offset])" }
            output += "{\"label\": \(jsonString(labels[predicted])), \"probabilities\": {\(probabilities.joined(separator: ", "))}}\n"
            if output.utf8.count > 1 << 16 {
                print(output, terminator: "")
                output = ""
            }
        }
        print(output, terminator: "")
    }

    /// `--adapter`: one base model, each adapter activated in turn over all the texts.
    private func runWithAdapters() throws {
        let named = try adapters.map { argument -> (name: String, directory: URL) in
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let path = parts.count == 2 ? parts[1] : argument
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CLIError("--adapter \(argument): no such directory")
            }
            let url = URL(fileURLWithPath: path, isDirectory: true)
            return (parts.count == 2 ? parts[0] : url.lastPathComponent, url)
        }
        let set = try AdapterSet(baseModelDirectory: model.url, adapters: named)
        (set.model as? EncoderModel)?.prepareForInference()
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)
        // QUESTION_ANS and TOKEN_CLS adapters: answers or entities (PredictCommand+PerTokenHeads).
        if set.head.isPerToken { return try printPerTokenAdapters(set: set, tokenizer: tokenizer) }
        let texts = try readTexts()
        let dataset = EncodedDataset.encode(
            texts: texts.map(\.text), pairs: texts.map(\.pair),
            labels: [Int32](repeating: 0, count: texts.count), tokenizer: tokenizer,
            maxLength: min(inference.maxLength, set.model.maxSequenceLength))
        var results: [(name: String, labels: [String], predictions: Predictions)] = []
        for name in set.names {
            try set.activate(name)
            let predictions = try Predictions.compute(
                model: set.model, dataset: dataset, batchSize: inference.batchSize,
                padTokenId: tokenizer.padTokenId)
            results.append((name, try set.labels(of: name, baseModelDirectory: model.url), predictions))
        }
        var output = ""
        for i in 0..<texts.count {
            for (name, labels, predictions) in results {
                let predicted = predictions.predictedClasses[i]
                let probabilities = labels.enumerated().map {
                    "\(jsonString($0.element)): \(predictions.probabilities[i * labels.count + $0.offset])"
                }
                let adapterKey = results.count > 1 ? "\"adapter\": \(jsonString(name)), " : ""
                output +=
                    "{\(adapterKey)\"label\": \(jsonString(labels[predicted])), \"probabilities\": {\(probabilities.joined(separator: ", "))}}\n"
            }
            if output.utf8.count > 1 << 16 {
                print(output, terminator: "")
                output = ""
            }
        }
        print(output, terminator: "")
    }

    /// A token classifier's entities, one JSON line per text:
    /// `{"entities": [{"type": "PER", "start": 0, "end": 2, "text": "张三"}]}` (Unicode-scalar offsets).
    private func printEntities(texts: [String], model: any SequenceModel, tokenizer: any EncoderTokenizer, labels: [String]) throws {
        try printJSONLines(try entityObjects(texts: texts, model: model, tokenizer: tokenizer, labels: labels))
    }

    /// A QA model's answers, one JSON line per (question, context) pair of a CSV/TSV/JSONL input
    /// (columns `question` and `context` unless --text-column/--text-pair-column name others):
    /// `{"answer": "…", "end": 31, "score": 0.93, "start": 25}`, Unicode-scalar offsets into the
    /// context; `answer` "" without offsets when a SQuAD v2 model finds no answer.
    private func printAnswers(model: any SequenceModel, tokenizer: any EncoderTokenizer) throws {
        try printJSONLines(try answerObjects(pairs: try readQuestionPairs(), model: model, tokenizer: tokenizer))
    }

    /// The texts to classify, from `--input` or standard input.
    func readTexts() throws -> [(text: String, pair: String?)] {
        guard let input else { return try readStandardInputLines().map { ($0, nil) } }
        if let format = DataFormat.inferred(fromPath: input) {
            return try DataReader.readTexts(input, format: format, textColumn: textColumn, textPairColumn: textPairColumn)
        }
        guard let data = FileManager.default.contents(atPath: input) else { throw CLIError("\(input): file not found") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(input): not valid UTF-8") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if lines.last == "" { lines.removeLast() }
        return lines.map { ($0, nil) }
    }

    private func jsonString(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes]), as: UTF8.self)
    }
}

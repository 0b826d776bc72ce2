import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain encoder-outputs` (hidden): an encoder's inputs and outputs on texts, batch by batch, as
/// a safetensors file, so `scripts/onnx_check.sh` runs ONNX Runtime on exactly fttrain's padded
/// batches and compares. Batch N: `input_ids.N`, `attention_mask.N`, `token_type_ids.N` (int64,
/// `(B, T)`, padded to the batch's longest), and `logits.N (B, L)` for a classifier or
/// `last_hidden_state.N (B, T, C)` for a bare encoder — what `fttrain export --format onnx`
/// outputs for the same directory and task.
struct EncoderOutputsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder-outputs",
        abstract: "Write an encoder's padded input batches and its logits or last hidden states to a safetensors file.",
        shouldDisplay: false)

    @OptionGroup var model: ModelDirectoryOption

    @Option(help: "A UTF-8 file of texts, one per line; a tab separates a text pair.")
    var input: String

    @Option(help: "text-classification (logits) or feature-extraction (last_hidden_state); default as fttrain export --format onnx.")
    var task: String?

    @Option(name: .customLong("batch-size"), help: "Texts per batch (in file order).")
    var batchSize = 8

    @Option(name: .customLong("max-length"), help: "Tokens per text including the special tokens.")
    var maxLength = 128

    @Option(help: "The safetensors file to write.")
    var output: String

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
        if let task, ONNXExport.Task(rawValue: task) == nil {
            throw ValidationError("--task \(task) is not supported (\(ONNXExport.Task.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        let task = try task.flatMap(ONNXExport.Task.init(rawValue:)) ?? ONNXExport.defaultTask(modelDirectory: model.url)
        let labelCount = try HuggingFaceExport.labels(modelDirectory: model.url)?.count ?? 0
        let numLabels = task == .questionAnswering ? 2 : task == .featureExtraction ? 0 : labelCount
        let encoder = try EncoderModel.load(modelDirectory: model.url, numLabels: numLabels, head: task.head ?? .sequenceClassification)
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)
        guard let text = try? String(contentsOfFile: input, encoding: .utf8) else { throw CLIError("\(input): cannot read the file") }
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw CLIError("\(input): no texts") }
        let limit = min(maxLength, encoder.config.maxPositionEmbeddings)
        let encodings = lines.map { line -> TokenizerEncoding in
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            return tokenizer.encode(parts[0], pair: parts.count > 1 ? parts[1] : nil, maxLength: limit)
        }
        let C = encoder.config.hiddenSize
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "task": task.rawValue])
        for (n, start) in stride(from: 0, to: encodings.count, by: batchSize).enumerated() {
            let members = Array(encodings[start..<min(start + batchSize, encodings.count)])
            let batch = tokenizer.padBatch(members)
            let B = members.count, T = batch.sequenceLength
            let outputs = try encoder.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: B, sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
            try writer.add("input_ids.\(n)", shape: [B, T], int64s: batch.inputIds.map(Int64.init))
            try writer.add("attention_mask.\(n)", shape: [B, T], int64s: batch.attentionMask.map(Int64.init))
            try writer.add("token_type_ids.\(n)", shape: [B, T], int64s: batch.tokenTypeIds.map(Int64.init))
            if task == .tokenClassification || task == .questionAnswering {
                // Per-token heads: (B, T, L) logits, or QA's (B, T, 2) split into start and end (B, T).
                guard let logits = outputs.logits else { throw CLIError("\(model.path): the model returned no logits") }
                if task == .tokenClassification {
                    try writer.add("logits.\(n)", shape: [B, T, numLabels], floats: UnsafeBufferPointer(start: logits, count: B * T * numLabels))
                } else {
                    for (k, name) in ["start_logits", "end_logits"].enumerated() {
                        let channel = (0..<(B * T)).map { logits[2 * $0 + k] }
                        try writer.add("\(name).\(n)", shape: [B, T], floats: channel)
                    }
                }
            } else if task == .textClassification {
                guard let logits = outputs.logits else { throw CLIError("\(model.path): the model returned no logits") }
                try writer.add("logits.\(n)", shape: [B, numLabels], floats: UnsafeBufferPointer(start: logits, count: B * numLabels))
            } else {
                try writer.add(
                    "last_hidden_state.\(n)", shape: [B, T, C], floats: UnsafeBufferPointer(start: outputs.lastHiddenState, count: B * T * C))
            }
        }
        try writer.write(toPath: output)
        print("wrote \(task.rawValue) outputs of \(lines.count) texts to \(output)")
    }
}

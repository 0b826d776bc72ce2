import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain export`: a decoder model (a Hugging Face directory such as a run's `OUT/model`, or a
/// .gguf file), optionally with a LoRA adapter merged in, written as a llama.cpp GGUF file; or an
/// encoder model directory (BERT, MiniLM, DistilBERT) written as an ONNX file for ONNX Runtime.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a decoder model as a GGUF file (llama.cpp), or an encoder model as an ONNX file (ONNX Runtime).",
        discussion: """
            Example: fttrain export --model OUT/model --format gguf --dtype f16 --output model-f16.gguf
            With --adapter DIR (PEFT's format) the adapter is merged into the weights first. f32 stores the \
            weights exactly; f16 stores the matrices as half floats (norms stay f32), as llama.cpp's \
            convert_hf_to_gguf.py --outtype f16 does. The tokenizer goes into the file's metadata.
            Example: fttrain export --format onnx --model-dir OUT/model --output model.onnx
            ONNX: opset 17, int64 inputs input_ids, attention_mask (and token_type_ids for BERT) with dynamic \
            axes batch and sequence, float32 weights; output logits for a fine-tuned classifier (config.json \
            has id2label and the weights a classifier; (batch, sequence, labels) for a token classifier), \
            start_logits and end_logits (batch, sequence) for a question-answering model, last_hidden_state for \
            a bare encoder (--task overrides).
            """)

    @Option(
        name: [.customLong("model"), .customLong("model-dir")],
        help: "The model: a Hugging Face directory (config.json, model.safetensors, tokenizer.json) or a .gguf file.")
    var model: String

    @Option(help: "A LoRA adapter directory in PEFT's format to merge into the weights.")
    var adapter: String?

    @Option(help: "The output format: gguf or onnx.")
    var format = "gguf"

    @Option(help: "The storage of the matrices: f32 or f16 (gguf; ONNX weights are always f32).")
    var dtype = "f32"

    @Option(
        help:
            "ONNX only: text-classification (output logits), token-classification (per-token logits), question-answering (start_logits, end_logits) or feature-extraction (last_hidden_state); default from the model."
    )
    var task: String?

    @Option(help: "The file to write.")
    var output: String

    @Option(help: "general.name in the file (default: the model's file or directory name).")
    var name: String?

    func validate() throws {
        guard format == "gguf" || format == "onnx" else { throw ValidationError("--format \(format) is not supported (gguf, onnx)") }
        if format == "onnx" {
            guard adapter == nil else { throw ValidationError("--adapter is not supported with --format onnx (export a merged model directory)") }
            guard dtype == "f32" else { throw ValidationError("--dtype \(dtype) is not supported with --format onnx (weights are f32)") }
            guard name == nil else { throw ValidationError("--name applies to --format gguf only") }
            if let task, ONNXExport.Task(rawValue: task) == nil {
                throw ValidationError("--task \(task) is not supported (\(ONNXExport.Task.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        } else if task != nil {
            throw ValidationError("--task applies to --format onnx only")
        }
        guard GGUFExport.Precision(rawValue: dtype) != nil else { throw ValidationError("--dtype \(dtype) is not supported (f32 or f16)") }
        guard FileManager.default.fileExists(atPath: model) else { throw ValidationError("--model \(model): no such file or directory") }
        if let adapter {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: adapter, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--adapter \(adapter): no such directory")
            }
        }
    }

    func run() throws {
        if format == "onnx" { return try runONNX() }
        let loaded = try CausalModelLoading.load(path: model, adapter: adapter.map { URL(fileURLWithPath: $0, isDirectory: true) })
        guard let llama = loaded.model as? LlamaModel else {
            throw CLIError("\(model): \(loaded.model.architectureName) cannot be exported as GGUF (only Llama)")
        }
        guard let tokenizer = loaded.tokenizer as? ByteLevelBPETokenizer else {
            throw CLIError("\(model): the tokenizer is not a byte-level BPE tokenizer; GGUF export needs one")
        }
        llama.peft?.loraBranches?.merge()
        let source = URL(fileURLWithPath: model)
        let modelName = name ?? (source.pathExtension.lowercased() == "gguf" ? source.deletingPathExtension() : source).lastPathComponent
        let destination = URL(fileURLWithPath: output)
        try GGUFExport.write(
            model: llama, tokenizer: tokenizer, name: modelName, precision: GGUFExport.Precision(rawValue: dtype)!, to: destination)
        var lineage = try LineageRecord.derived(
            command: "export", source: model, parent: adapter, settings: ["format": format, "dtype": dtype, "name": modelName],
            inputs: adapter.map { [("adapter", URL(fileURLWithPath: $0).appendingPathComponent("adapter_model.safetensors").path)] } ?? [])
        try lineage.write(besideFile: destination)
        let size = (try? FileManager.default.attributesOfItem(atPath: destination.path)[.size] as? Int) ?? 0
        print("wrote \(destination.path) (\(dtype), \(size / 1_000_000) MB\(adapter.map { ", adapter \($0) merged" } ?? ""))")
    }

    /// `--format onnx`: an encoder model directory as an ONNX file.
    private func runONNX() throws {
        let destination = URL(fileURLWithPath: output)
        let summary = try ONNXExport.write(
            modelDirectory: URL(fileURLWithPath: model, isDirectory: true), task: task.flatMap(ONNXExport.Task.init(rawValue:)),
            to: destination)
        print(
            "wrote \(destination.path) (ONNX opset \(ONNXExport.opsetVersion), \(summary.family) \(summary.task.rawValue), \(summary.bytes / 1_000_000) MB)"
        )
    }
}

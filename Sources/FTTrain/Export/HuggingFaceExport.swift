import FTCore
import FTModel
import Foundation

/// Writes a fine-tuned classifier as a Hugging Face model directory that
/// `AutoModelForSequenceClassification.from_pretrained` loads and that fttrain loads back:
/// `config.json` (the base config plus `architectures`, `id2label`, `label2id`), `model.safetensors`
/// (encoder tensors with the family's prefix, `bert.`, the head's without, as
/// `BertForSequenceClassification` names them) and the tokenizer files of the base model. A decoder
/// (`LlamaForCausalLM`) gets its token ids, `torch_dtype` and `generation_config.json` too
/// (``CausalLMExport``); tied embeddings have no `lm_head.weight`, as transformers saves them.
///
/// The directory is built beside the destination and renamed into place, so a crash never leaves a
/// half-written model under the final name.
public enum HuggingFaceExport {
    /// Tokenizer files copied from the base model when present.
    static let tokenizerFiles = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "added_tokens.json"]

    /// `dtype`: the element type of `model.safetensors` — F32 (checkpoints: resume needs the exact
    /// values), or BF16/F16 (`save_dtype`: half the bytes, each weight rounded to nearest), with
    /// `torch_dtype` in `config.json` saying so, as `save_pretrained` of a bf16 model writes it.
    public static func write(
        model: any SequenceModel, labels: [String], baseModelDirectory: URL, to destination: URL, dtype: SafeTensorsDType = .F32
    ) throws {
        precondition([.F32, .BF16, .F16].contains(dtype), "model weights are saved as F32, BF16 or F16")
        precondition(model.numLabels == labels.count, "one label name per class")
        let fileManager = FileManager.default
        try StagedDirectory.write(destination) { staged in
            let staging = staged.url
            let torchDType = dtype == .F32 ? nil : (dtype == .BF16 ? "bfloat16" : "float16")
            try writeConfig(
                model: model, labels: labels, base: baseModelDirectory, to: staging.appendingPathComponent("config.json"),
                torchDType: torchDType)
            var writer = SafeTensorsWriter(metadata: ["format": "pt"])
            // Adapter tensors are not part of a plain model: merge LoRA into the weights first.
            precondition(model.peft?.loraBranches.map(\.isMerged) ?? true, "merge the LoRA branches before exporting")
            for view in model.store.views where !PEFTModules.isAdapterTensor(view.name) {
                try writer.add(
                    model.tensorNames.checkpointName(view.name), shape: view.shape,
                    floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count), as: dtype)
            }
            try writer.write(toPath: staging.appendingPathComponent("model.safetensors").path)
            for file in tokenizerFiles {
                let source = baseModelDirectory.appendingPathComponent(file)
                if fileManager.fileExists(atPath: source.path) {
                    try fileManager.copyItem(at: source, to: staging.appendingPathComponent(file))
                }
            }
            // A decoder: token ids and dtype in config.json, generation_config.json.
            if model is any CausalLanguageModel {
                try CausalLMExport.complete(directory: staging, base: baseModelDirectory, dtype: torchDType ?? "float32")
            }
        }
    }

    /// The base `config.json` with the classification keys set (and `torch_dtype` when given);
    /// unknown keys of the base are kept. A GGUF base has no `config.json`: the model writes every key itself.
    static func writeConfig(model: any SequenceModel, labels: [String], base: URL, to url: URL, torchDType: String? = nil) throws {
        if base.pathExtension.lowercased() == "gguf" {
            var exported = model.exportConfig(base: [:], labels: labels)
            if let torchDType { exported["torch_dtype"] = torchDType }
            try JSONSerialization.data(withJSONObject: exported, options: [.prettyPrinted, .sortedKeys]).write(to: url)
            return
        }
        let basePath = base.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: basePath),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw ModelError.badConfig(basePath, "cannot read the base model's config.json")
        }
        var exported = model.exportConfig(base: object, labels: labels)
        if let torchDType { exported["torch_dtype"] = torchDType }
        let json = try JSONSerialization.data(withJSONObject: exported, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: url)
    }

    /// Label names in id order from a fine-tuned model's `config.json` (`id2label`), or nil when the
    /// config has none (a bare encoder).
    public static func labels(modelDirectory: URL) throws -> [String]? {
        let path = modelDirectory.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError.missingFile(path) }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.badConfig(path, "not a JSON object")
        }
        guard let id2label = object["id2label"] as? [String: String] else { return nil }
        var labels = [String](repeating: "", count: id2label.count)
        for (key, label) in id2label {
            guard let id = Int(key), labels.indices.contains(id) else {
                throw ModelError.badConfig(path, "id2label key \"\(key)\" is not an id in 0..<\(id2label.count)")
            }
            labels[id] = label
        }
        return labels
    }
}

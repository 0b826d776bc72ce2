import FTCore
import FTModel
import Foundation

/// Writes a fine-tuned classifier as a Hugging Face model directory that
/// `AutoModelForSequenceClassification.from_pretrained` loads and that fttrain loads back:
/// `config.json` (the base config plus `architectures`, `id2label`, `label2id`), `model.safetensors`
/// (encoder tensors with the family's prefix, `bert.`, the head's without, as
/// `BertForSequenceClassification` names them) and the tokenizer files of the base model.
///
/// The directory is built beside the destination and renamed into place, so a crash never leaves a
/// half-written model under the final name.
public enum HuggingFaceExport {
    /// Tokenizer files copied from the base model when present.
    static let tokenizerFiles = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"]

    public static func write(model: any SequenceModel, labels: [String], baseModelDirectory: URL, to destination: URL) throws {
        precondition(model.numLabels == labels.count, "one label name per class")
        let fileManager = FileManager.default
        try StagedDirectory.write(destination) { staged in
            let staging = staged.url
            try writeConfig(model: model, labels: labels, base: baseModelDirectory, to: staging.appendingPathComponent("config.json"))
            var writer = SafeTensorsWriter(metadata: ["format": "pt"])
            // Adapter tensors are not part of a plain model: merge LoRA into the weights first.
            precondition(model.peft?.loraBranches.map(\.isMerged) ?? true, "merge the LoRA branches before exporting")
            for view in model.store.views where !PEFTModules.isAdapterTensor(view.name) {
                try writer.add(
                    model.tensorNames.checkpointName(view.name), shape: view.shape,
                    floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count))
            }
            try writer.write(toPath: staging.appendingPathComponent("model.safetensors").path)
            for file in tokenizerFiles {
                let source = baseModelDirectory.appendingPathComponent(file)
                if fileManager.fileExists(atPath: source.path) {
                    try fileManager.copyItem(at: source, to: staging.appendingPathComponent(file))
                }
            }
        }
    }

    /// The base `config.json` with the classification keys set; unknown keys of the base are kept.
    /// A GGUF base has no `config.json`: the model writes every key itself.
    static func writeConfig(model: any SequenceModel, labels: [String], base: URL, to url: URL) throws {
        if base.pathExtension.lowercased() == "gguf" {
            let exported = model.exportConfig(base: [:], labels: labels)
            try JSONSerialization.data(withJSONObject: exported, options: [.prettyPrinted, .sortedKeys]).write(to: url)
            return
        }
        let basePath = base.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: basePath),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw ModelError.badConfig(basePath, "cannot read the base model's config.json")
        }
        let exported = model.exportConfig(base: object, labels: labels)
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

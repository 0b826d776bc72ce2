import FTCore
import FTModel
import Foundation

/// Writes a pruned encoder as a model directory that fttrain and transformers'
/// `from_pretrained` load: the source `config.json` unchanged but for `pruned_heads` (the
/// model's, in the original head numbering), `model.safetensors` in float32 under the family's
/// checkpoint names (smaller attention tensors after head pruning, zeros after magnitude
/// pruning), the source's tokenizer files, and `pruning.json` (what was done and the sparsity).
/// Staged and renamed into place.
public enum PrunedModelExport {
    /// The record of a pruning written beside the model.
    public static let reportFile = "pruning.json"

    public static func write(model: EncoderModel, sourceDirectory: URL, to destination: URL, report: [String: Any]) throws {
        let fileManager = FileManager.default
        try StagedDirectory.write(destination) { staged in
            let configPath = sourceDirectory.appendingPathComponent("config.json").path
            guard let data = fileManager.contents(atPath: configPath),
                var object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { throw ModelError.badConfig(configPath, "cannot read the source model's config.json") }
            object["pruned_heads"] = model.config.prunedHeadsJSON
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                .write(to: staged.file("config.json"))
            var writer = SafeTensorsWriter(metadata: ["format": "pt"])
            for view in model.store.views where !PEFTModules.isAdapterTensor(view.name) {
                try writer.add(
                    model.tensorNames.checkpointName(view.name), shape: view.shape,
                    floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count))
            }
            try writer.write(toPath: staged.file("model.safetensors").path)
            for file in HuggingFaceExport.tokenizerFiles {
                let source = sourceDirectory.appendingPathComponent(file)
                if fileManager.fileExists(atPath: source.path) { try fileManager.copyItem(at: source, to: staged.file(file)) }
            }
            try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                .write(to: staged.file(reportFile))
        }
    }
}

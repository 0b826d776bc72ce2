import FTCore
import FTModel
import Foundation

/// The parameter-efficient parts of a training run: choosing what trains before the first step,
/// and writing the adapter beside the merged model at the end.
public enum PEFTTraining {
    /// The file of an adapter directory that names its classes (PEFT ignores it; `fttrain predict
    /// --adapter` reads it, as `config.json`'s `id2label` is not part of PEFT's format).
    public static let labelsFile = "labels.json"

    /// Initialises the LoRA branches (PEFT's way, seeded by `seed`) and freezes what the
    /// configuration does not train, then logs PEFT's trainable-parameter line.
    /// - Throws: `ConfigurationError` when `freeze_layers` names layers the model lacks.
    public static func prepare(model: any SequenceModel, configuration c: TrainingConfiguration, log: TrainingLog) throws {
        let problems = c.peftProblems(numHiddenLayers: model.layerCount)
        guard problems.isEmpty else {
            throw ConfigurationError(
                source: nil,
                problems: problems.map {
                    ConfigurationProblem(kind: .invalidValue, key: "freeze_layers", message: $0)
                })
        }
        if let adapters = model.peft?.bottleneck {
            var rng = SeededRNG(seed: c.rngSeed, stream: RandomStreams.adapterInitialization)
            adapters.initialize(rng: &rng)
        }
        if let layers = model.peft?.loraBranches {
            var rng = SeededRNG(seed: c.rngSeed, stream: RandomStreams.loraInitialization)
            layers.initialize(rng: &rng)
            if model.numLabels > 0 && !layers.configuration.saves(moduleName: c.defaultSavedHead) {
                log.message(
                    "warning: modules_to_save does not include \(c.defaultSavedHead): the new head stays at its random initialisation and is not saved with the adapter"
                )
            }
        }
        if c.peft != .none || c.freezeEmbeddings || !c.frozenLayers.isEmpty {
            let names = model.tensorNames
            model.setTrainable { c.isTrainable($0, names: names) }
        }
        if c.peft != .none && c.trainsNewEmbeddingRows,
            let embedding = model.store.views.first(where: { $0.name.hasSuffix("word_embeddings.weight") })?.name,
            !c.isTrainable(embedding, names: model.tensorNames)
        {
            log.message(
                "warning: the vocabulary was extended but modules_to_save does not include word_embeddings (or freeze_embeddings is set): the new rows keep their initial value (the mean row)"
            )
        }
        log.message(model.trainableParameterCount.description)
    }

    /// Writes `model/` (a plain Hugging Face model: LoRA merged into the base weights, PEFT's
    /// `merge_and_unload`) and, for a LoRA or adapter run, `adapter/` beside it (PEFT's format,
    /// head included, and `labels.json`). Bottleneck adapters do not merge into a plain model, so
    /// an adapter run has `adapter/` only. The model is left unmerged. `dtype` is `model/`'s
    /// element type (`save_dtype`); the adapter stays float32.
    public static func writeOutputs(
        model: any SequenceModel, labels: [String], baseModelDirectory: URL, output: URL,
        log: TrainingLog, dtype: SafeTensorsDType = .F32
    ) throws {
        let modelDirectory = output.appendingPathComponent("model")
        guard model.peft != nil else {
            try HuggingFaceExport.write(model: model, labels: labels, baseModelDirectory: baseModelDirectory, to: modelDirectory, dtype: dtype)
            log.message("model written to \(modelDirectory.path)")
            return
        }
        let adapterDirectory = output.appendingPathComponent("adapter")
        try PEFTAdapter.write(
            model: model, to: adapterDirectory, baseModelName: baseModelDirectory.path,
            extraFiles: try labelsFiles(labels))
        log.message("adapter written to \(adapterDirectory.path)")
        guard let layers = model.peft?.loraBranches else {
            log.message(
                "no model/: bottleneck adapters cannot be merged into a plain model; predict with --model-dir \(baseModelDirectory.path) --adapter \(adapterDirectory.path)"
            )
            return
        }
        layers.merge()
        defer { layers.unmerge() }
        try HuggingFaceExport.write(model: model, labels: labels, baseModelDirectory: baseModelDirectory, to: modelDirectory, dtype: dtype)
        log.message("model written to \(modelDirectory.path) (LoRA merged into the base weights)")
    }

    /// An adapter directory's extra files: `labels.json` for a classifier, none for a model without
    /// classes (a causal LM), whose adapter is then exactly PEFT's.
    public static func labelsFiles(_ labels: [String]) throws -> [String: Data] {
        labels.isEmpty ? [:] : [labelsFile: try labelsJSON(labels)]
    }

    /// `{"id2label": {"0": "fresh", ...}}`.
    public static func labelsJSON(_ labels: [String]) throws -> Data {
        let id2label = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
        return try JSONSerialization.data(withJSONObject: ["id2label": id2label], options: [.prettyPrinted, .sortedKeys])
    }

    /// Label names in id order from an adapter directory's `labels.json`, or nil when it has none.
    public static func labels(adapterDirectory: URL) throws -> [String]? {
        let path = adapterDirectory.appendingPathComponent(labelsFile).path
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id2label = object["id2label"] as? [String: String]
        else {
            throw ModelError.badConfig(path, "expected {\"id2label\": {\"0\": label, ...}}")
        }
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

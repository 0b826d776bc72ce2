import Foundation
import FTCore

extension BertModel {
    /// Fills the parameters from a safetensors file of Hugging Face names, with or without the
    /// `bert.` prefix (a `BertModel` vs a `BertFor...` checkpoint). Old checkpoints' LayerNorm
    /// `gamma`/`beta` names are accepted too. Tensors the model does not use (`position_ids`,
    /// pre-training heads) are ignored. When the model has a head and the file has none, the head
    /// keeps its values: the caller initialises it, as `from_pretrained` does for a new head.
    /// Adapter tensors (LoRA's A and B) are not base weights and are left alone.
    /// - Returns: the names of model tensors that were not in the file (only ever head tensors).
    @discardableResult
    public func load(from file: SafeTensorsFile) throws -> [String] {
        var notFound: [String] = []
        for view in store.views where !PEFTModules.isAdapterTensor(view.name) {
            guard let stored = Self.storedName(for: view.name, in: file) else {
                if view.name.hasPrefix("classifier.") { notFound.append(view.name); continue }
                throw ModelError.missingTensor(file: file.path, tensor: view.name)
            }
            let info = file.info(stored)!
            guard info.shape == view.shape else {
                throw ModelError.shapeMismatch(file: file.path, tensor: stored, expected: view.shape, found: info.shape)
            }
            try file.copyFloats(stored, into: UnsafeMutableBufferPointer(start: store.value(view.name), count: view.count))
        }
        return notFound
    }

    private static func storedName(for name: String, in file: SafeTensorsFile) -> String? {
        var candidates = [name, "bert." + name]
        if name.hasSuffix("LayerNorm.weight") {
            let old = String(name.dropLast("weight".count)) + "gamma"
            candidates += [old, "bert." + old]
        } else if name.hasSuffix("LayerNorm.bias") {
            let old = String(name.dropLast("bias".count)) + "beta"
            candidates += [old, "bert." + old]
        }
        return candidates.first { file.info($0) != nil }
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face model directory.
    /// A new head (`numLabels > 0` and no `classifier.*` in the file) is initialised with `seed`.
    /// `adjust` changes the config before the model is built (dropout overrides, as Hugging Face's
    /// `from_pretrained(..., hidden_dropout_prob=...)`); the result is validated again. `peft` adds
    /// adapter tensors, left zero (`LoRALayers.initialize` or an adapter file fills them).
    public static func load(modelDirectory: URL, numLabels: Int = 0, seed: UInt64 = 42, peft: PEFTSetup? = nil,
                            adjust: (inout BertConfig) -> Void = { _ in }) throws -> BertModel {
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        let weightsPath = modelDirectory.appendingPathComponent("model.safetensors").path
        var config = try BertConfig.load(path: configPath)
        adjust(&config)
        try config.validate(source: configPath)
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw ModelError.missingFile(weightsPath) }
        let model = try BertModel(config: config, numLabels: numLabels, peft: peft)
        let newTensors = try model.load(from: SafeTensorsFile(path: weightsPath))
        if !newTensors.isEmpty {
            var rng = SeededRNG(seed: seed)
            model.initializeRandomly(rng: &rng, only: Set(newTensors))
        }
        return model
    }
}

import FTCore
import Foundation

extension LlamaModel {
    /// Fills the base parameters from a safetensors file of `LlamaForCausalLM.state_dict()` names
    /// (LoRA tensors are left alone). A tied model ignores a stored `lm_head.weight`.
    /// - Throws: `ModelError` naming the file and the missing or misshapen tensor.
    public func load(from file: SafeTensorsFile) throws {
        try load(from: LlamaWeights(files: [file]))
    }

    /// Fills the base parameters from one or several (sharded) safetensors files.
    func load(from weights: LlamaWeights) throws {
        for view in store.views where !LoRALayers.isLoRATensor(view.name) {
            guard let (file, info) = weights.find(view.name) else {
                throw ModelError.missingTensor(file: weights.description, tensor: view.name)
            }
            guard info.shape == view.shape else {
                throw ModelError.shapeMismatch(file: file.path, tensor: view.name, expected: view.shape, found: info.shape)
            }
            try file.copyFloats(view.name, into: UnsafeMutableBufferPointer(start: store.value(view.name), count: view.count))
        }
    }

    /// Loads `config.json` and `model.safetensors` (or the shards `model.safetensors.index.json`
    /// lists) of a Hugging Face Llama directory. The config's sizes are compared with the weights'
    /// shapes before anything is allocated. `peft` adds LoRA tensors, left zero
    /// (`lora.initialize` or an adapter file fills them).
    public static func load(modelDirectory: URL, peft: PEFTSetup? = nil) throws -> LlamaModel {
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        let config = try LlamaConfig.read(ModelRegistry.readConfigJSON(path: configPath))
        let weights = try LlamaWeights(modelDirectory: modelDirectory)
        try checkSizes(of: config, against: weights, configPath: configPath)
        let model = try LlamaModel(config: config, peft: peft)
        try model.load(from: weights)
        return model
    }

    /// Compares the sizes of `config.json` with the tensors they size, naming the key and the tensor.
    static func checkSizes(of config: LlamaConfig, against weights: LlamaWeights, configPath: String) throws {
        func expect(_ key: String, _ value: Int, tensor: String, dimension: Int) throws {
            guard let (file, info) = weights.find(tensor) else { throw ModelError.missingTensor(file: weights.description, tensor: tensor) }
            guard info.shape.count > dimension, info.shape[dimension] == value else {
                throw ModelError.badConfig(configPath, "\(key) \(value) disagrees with \(file.path): \(tensor) has shape \(info.shape)")
            }
        }
        try expect("vocab_size", config.vocabSize, tensor: LlamaTensorNames.embedTokens, dimension: 0)
        try expect("hidden_size", config.hiddenSize, tensor: LlamaTensorNames.embedTokens, dimension: 1)
        let layers = config.numHiddenLayers
        guard weights.find(LlamaTensorNames.weight(layers - 1, .q)) != nil, weights.find(LlamaTensorNames.weight(layers, .q)) == nil else {
            var present = 0
            while present < 100_000 && weights.find(LlamaTensorNames.weight(present, .q)) != nil { present += 1 }
            throw ModelError.badConfig(
                configPath, "num_hidden_layers \(layers) disagrees with \(weights.description), which holds \(present) layers")
        }
        try expect("intermediate_size", config.intermediateSize, tensor: LlamaTensorNames.weight(0, .gate), dimension: 0)
        try expect(
            "num_attention_heads × head_dim", config.queryWidth, tensor: LlamaTensorNames.weight(0, .q), dimension: 0)
        try expect(
            "num_key_value_heads × head_dim", config.keyValueWidth, tensor: LlamaTensorNames.weight(0, .k), dimension: 0)
        if !config.tieWordEmbeddings {
            try expect("vocab_size", config.vocabSize, tensor: LlamaTensorNames.lmHead, dimension: 0)
        }
    }
}

/// The safetensors file(s) of a Llama checkpoint: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` maps tensors to (`weight_map`).
struct LlamaWeights: CustomStringConvertible {
    let files: [SafeTensorsFile]
    /// Tensor name → index in `files` (sharded checkpoints), else nil: search every file.
    let index: [String: Int]?
    var description: String { files.count == 1 ? files[0].path : "\(files.count) shards (\(files.first?.path ?? ""), …)" }

    init(files: [SafeTensorsFile], index: [String: Int]? = nil) {
        self.files = files
        self.index = index
    }

    /// Opens `model.safetensors`, else the shards of `model.safetensors.index.json`.
    /// - Throws: `ModelError` naming the missing file, a malformed index or a shard it names that is absent.
    init(modelDirectory: URL) throws {
        let single = modelDirectory.appendingPathComponent("model.safetensors").path
        let indexPath = modelDirectory.appendingPathComponent("model.safetensors.index.json").path
        if FileManager.default.fileExists(atPath: single) || !FileManager.default.fileExists(atPath: indexPath) {
            guard FileManager.default.fileExists(atPath: single) else { throw ModelError.missingFile(single) }
            self.init(files: [try SafeTensorsFile(path: single)])
            return
        }
        let json = try ModelRegistry.readConfigJSON(path: indexPath)
        guard let map = json.object["weight_map"] as? [String: String], !map.isEmpty else {
            throw ModelError.badConfig(indexPath, "weight_map is missing or not an object of tensor → file names")
        }
        let shards = Array(Set(map.values)).sorted()
        var files: [SafeTensorsFile] = []
        for shard in shards {
            guard !shard.contains("/") else { throw ModelError.badConfig(indexPath, "shard \(shard) is not a file name in the directory") }
            let path = modelDirectory.appendingPathComponent(shard).path
            guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path) }
            files.append(try SafeTensorsFile(path: path))
        }
        let position = Dictionary(uniqueKeysWithValues: shards.enumerated().map { ($1, $0) })
        self.init(files: files, index: map.mapValues { position[$0]! })
    }

    /// The file holding `name` and its info.
    func find(_ name: String) -> (SafeTensorsFile, SafeTensorInfo)? {
        if let index {
            guard let i = index[name], let info = files[i].info(name) else { return nil }
            return (files[i], info)
        }
        for file in files { if let info = file.info(name) { return (file, info) } }
        return nil
    }
}

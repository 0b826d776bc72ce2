import FTCore
import Foundation

extension LlamaModel {
    /// Fills the base parameters from a safetensors file of `LlamaForCausalLM.state_dict()` names
    /// (LoRA tensors are left alone). A tied model ignores a stored `lm_head.weight`.
    /// - Throws: `ModelError` naming the file and the missing or misshapen tensor.
    public func load(from file: SafeTensorsFile) throws {
        for view in store.views where !LoRALayers.isLoRATensor(view.name) {
            guard let info = file.info(view.name) else { throw ModelError.missingTensor(file: file.path, tensor: view.name) }
            guard info.shape == view.shape else {
                throw ModelError.shapeMismatch(file: file.path, tensor: view.name, expected: view.shape, found: info.shape)
            }
            try file.copyFloats(view.name, into: UnsafeMutableBufferPointer(start: store.value(view.name), count: view.count))
        }
    }

    /// Loads `config.json` and `model.safetensors` of a Hugging Face Llama directory. The config's
    /// sizes are compared with the weights' shapes before anything is allocated. `peft` adds LoRA
    /// tensors, left zero (`lora.initialize` or an adapter file fills them).
    public static func load(modelDirectory: URL, peft: PEFTSetup? = nil) throws -> LlamaModel {
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        let weightsPath = modelDirectory.appendingPathComponent("model.safetensors").path
        let config = try LlamaConfig.read(ModelRegistry.readConfigJSON(path: configPath))
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw ModelError.missingFile(weightsPath) }
        let file = try SafeTensorsFile(path: weightsPath)
        try checkSizes(of: config, against: file, configPath: configPath)
        let model = try LlamaModel(config: config, peft: peft)
        try model.load(from: file)
        return model
    }

    /// Compares the sizes of `config.json` with the tensors they size, naming the key and the tensor.
    static func checkSizes(of config: LlamaConfig, against file: SafeTensorsFile, configPath: String) throws {
        func expect(_ key: String, _ value: Int, tensor: String, dimension: Int) throws {
            guard let info = file.info(tensor) else { throw ModelError.missingTensor(file: file.path, tensor: tensor) }
            guard info.shape.count > dimension, info.shape[dimension] == value else {
                throw ModelError.badConfig(configPath, "\(key) \(value) disagrees with \(file.path): \(tensor) has shape \(info.shape)")
            }
        }
        try expect("vocab_size", config.vocabSize, tensor: LlamaTensorNames.embedTokens, dimension: 0)
        try expect("hidden_size", config.hiddenSize, tensor: LlamaTensorNames.embedTokens, dimension: 1)
        let layers = config.numHiddenLayers
        guard file.info(LlamaTensorNames.weight(layers - 1, .q)) != nil, file.info(LlamaTensorNames.weight(layers, .q)) == nil else {
            var present = 0
            while present < 100_000 && file.info(LlamaTensorNames.weight(present, .q)) != nil { present += 1 }
            throw ModelError.badConfig(
                configPath, "num_hidden_layers \(layers) disagrees with \(file.path), which holds \(present) layers")
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

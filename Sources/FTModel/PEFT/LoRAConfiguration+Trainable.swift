extension LoRAConfiguration {
    /// Whether LoRA wraps the module that store tensor `name` belongs to.
    func wrapsModule(ofTensor name: String, names: any ModelTensorNaming) -> Bool {
        !LoRALayers.isLoRATensor(name) && targets(moduleName: names.moduleName(ofTensor: name))
    }

    /// Whether a tensor of the model (store name) is trained under this setup, as PEFT decides:
    /// the A and B matrices; biases by `bias` (`all`: every parameter with "bias" in its name,
    /// layer-norm biases included; `lora_only`: those of wrapped modules); every tensor of the
    /// modules to save. All else is frozen. `names` are the model family's.
    public func isTrainable(_ name: String, names: any ModelTensorNaming = EncoderFamily.bert.names) -> Bool {
        if LoRALayers.isLoRATensor(name) { return true }
        switch bias {
        case .all where name.contains("bias"): return true
        case .loraOnly where name.hasSuffix(".bias") && wrapsModule(ofTensor: name, names: names): return true
        default: break
        }
        return saves(moduleName: names.moduleName(ofTensor: name))
    }
}

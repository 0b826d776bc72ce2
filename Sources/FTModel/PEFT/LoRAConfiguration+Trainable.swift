extension LoRAConfiguration {
    /// Hugging Face's full module name of a store tensor's module: `bert.encoder.layer.0.attention.self.query`
    /// for `encoder.layer.0.attention.self.query.weight`, `classifier` for `classifier.bias`.
    static func moduleName(ofTensor name: String) -> String {
        let module = name.split(separator: ".").dropLast().joined(separator: ".")
        return name.hasPrefix("classifier.") ? module : "bert." + module
    }

    /// Whether LoRA wraps the module that store tensor `name` belongs to.
    func wrapsModule(ofTensor name: String) -> Bool {
        !LoRALayers.isLoRATensor(name) && targets(moduleName: Self.moduleName(ofTensor: name))
    }

    /// Whether a tensor of the model (store name) is trained under this setup, as PEFT decides:
    /// the A and B matrices; biases by `bias` (`all`: every parameter with "bias" in its name,
    /// layer-norm biases included; `lora_only`: those of wrapped modules); every tensor of the
    /// modules to save. All else is frozen.
    public func isTrainable(_ name: String) -> Bool {
        if LoRALayers.isLoRATensor(name) { return true }
        switch bias {
        case .all where name.contains("bias"): return true
        case .loraOnly where name.hasSuffix(".bias") && wrapsModule(ofTensor: name): return true
        default: break
        }
        return saves(moduleName: Self.moduleName(ofTensor: name))
    }
}

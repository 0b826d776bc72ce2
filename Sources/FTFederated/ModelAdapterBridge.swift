import FTCore
import FTModel

/// A LoRA model's trainable tensors as an `AdapterUpdate` under PEFT's names, and back: what a
/// site sends is exactly what PEFT would save as its adapter (A and B per module, the head and
/// whatever else the setup trains).
public enum ModelAdapterBridge {
    /// The model's trainable tensors (its adapter), with `examples` as the update's weight.
    public static func extract(from model: any SequenceModel, examples: Int) throws -> AdapterUpdate {
        guard let lora = model.peft?.setup.lora else {
            throw FederationError(description: "federated training sends LoRA adapters: set peft: lora")
        }
        let store = model.store
        var modules: [String: LoRAFactors] = [:], dense: [String: [Float]] = [:]
        // The trained tensors, and every LoRA factor even when frozen (FFA-LoRA's A).
        for view in store.views where view.isTrainable || PEFTModules.isAdapterTensor(view.name) {
            let saved = PEFTAdapter.savedName(view.name, lora: lora, names: model.tensorNames)
            if saved.hasSuffix(".lora_B.weight") { continue }  // taken with its A
            if saved.hasSuffix(".lora_A.weight") {
                let bName = String(view.name.dropLast(".lora_A.weight".count)) + ".lora_B.weight"
                guard store.contains(bName), view.shape.count == 2 else {
                    throw FederationError(description: "\(view.name) has no lora_B beside it")
                }
                let bView = store.view(bName)
                modules[String(saved.dropLast(".lora_A.weight".count))] = LoRAFactors(
                    a: store.valueArray(view.name), b: store.valueArray(bName), rank: view.shape[0],
                    inFeatures: view.shape[1], outFeatures: bView.shape[0])
            } else {
                dense[saved] = store.valueArray(view.name)
            }
        }
        return AdapterUpdate(modules: modules, dense: dense, examples: examples)
    }

    /// Copies an adapter into the model; every tensor must have its place and shape.
    public static func apply(_ update: AdapterUpdate, to model: any SequenceModel) throws {
        let store = model.store
        func copy(_ saved: String, _ values: [Float]) throws {
            guard let name = PEFTAdapter.storeName(saved), store.contains(name), store.view(name).count == values.count else {
                throw FederationError(description: "adapter tensor \(saved) (\(values.count) values) has no place in this model")
            }
            store.value(name).update(from: values, count: values.count)
        }
        for (module, factors) in update.modules {
            try copy(module + ".lora_A.weight", factors.a)
            try copy(module + ".lora_B.weight", factors.b)
        }
        for (saved, values) in update.dense { try copy(saved, values) }
    }
}

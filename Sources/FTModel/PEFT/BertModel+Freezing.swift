import FTCore

extension BertModel {
    /// The base layout with each layer's adapter tensors placed right after that layer's own,
    /// so every layer's trainable gradients stay together in the packed gradient buffer (the
    /// all-reduce buckets of a layer are contiguous).
    static func layout(config: BertConfig, numLabels: Int, peft: PEFTSetup?) -> [(name: String, shape: [Int])] {
        let base = layout(config: config, numLabels: numLabels)
        guard let peft else { return base }
        let extra = PEFTModules.layout(setup: peft, config: config)
        var result: [(name: String, shape: [Int])] = []
        for tensor in base {
            result.append(tensor)
            for l in 0..<config.numHiddenLayers where tensor.name == "encoder.layer.\(l).output.LayerNorm.bias" {
                result += extra[l]
            }
            if tensor.name == "pooler.dense.bias" { result += extra[config.numHiddenLayers] }
        }
        return result
    }

    /// Names of the base model's tensors (Hugging Face's, without `bert.`), adapters excluded.
    public var baseTensorNames: [String] {
        store.views.map(\.name).filter { !PEFTModules.isAdapterTensor($0) }
    }

    /// Freezes every tensor `isTrainable` rejects: only the others keep gradient storage,
    /// optimizer state and all-reduce traffic (`ParameterStore.setTrainable`).
    public func setTrainable(_ isTrainable: (String) -> Bool) {
        store.setTrainable(isTrainable)
    }

    /// How far backward must go: the lowest layer whose backward is needed (a trainable tensor in
    /// it or below it), `numHiddenLayers` when none is, and whether the embeddings have anything
    /// to train. Layers below the lowest needed one are skipped entirely.
    func backwardReach() -> (lowestLayer: Int, embeddings: Bool) {
        var lowest = config.numHiddenLayers
        var embeddings = false
        for view in store.views where view.isTrainable {
            if view.name.hasPrefix("embeddings.") {
                embeddings = true
            } else if view.name.hasPrefix("encoder.layer.") {
                let rest = view.name.dropFirst("encoder.layer.".count)
                if let dot = rest.firstIndex(of: "."), let l = Int(rest[..<dot]) { lowest = min(lowest, l) }
            }
        }
        return (embeddings ? 0 : lowest, embeddings)
    }

    /// Gradient pointers of the fused query/key/value product of layer `l`: the `(3C, C)` weight
    /// and `(3C)` bias gradients when all three parts are trainable (one product fills them), nil
    /// otherwise; `partialBiases` lists the bias parts trained alone (PEFT's `bias="lora_only"`
    /// with LoRA on some of them), whose gradients `accumulatePartialBiases` adds.
    func qkvGradients(layer l: Int) -> (weight: UnsafeMutablePointer<Float>?, bias: UnsafeMutablePointer<Float>?,
                                         partialBiases: [(part: Int, gradient: UnsafeMutablePointer<Float>)]) {
        let p = "encoder.layer.\(l).attention.self."
        let parts = ["query", "key", "value"]
        let weight = store.gradient(spanning: parts.map { p + $0 + ".weight" })
        let bias = store.gradient(spanning: parts.map { p + $0 + ".bias" })
        precondition(weight != nil || parts.allSatisfy { !store.isTrainable(p + $0 + ".weight") },
                     "layer \(l): query, key and value weights must be trained together (one fused product)")
        var partial: [(part: Int, gradient: UnsafeMutablePointer<Float>)] = []
        if bias == nil {
            for (k, part) in parts.enumerated() {
                if let g = store.gradient(p + part + ".bias") { partial.append((k, g)) }
            }
        }
        return (weight, bias, partial)
    }

    /// dBias (C) += column sums of part `k` of dQKV (N, 3C), for each partially trained bias.
    func accumulatePartialBiases(_ partial: [(part: Int, gradient: UnsafeMutablePointer<Float>)],
                                 dQKV: UnsafePointer<Float>, rows N: Int) {
        let C = config.hiddenSize
        for (k, dBias) in partial {
            for r in 0..<N {
                VectorMath.add(dBias, dQKV + r * 3 * C + k * C, C)
            }
        }
    }
}

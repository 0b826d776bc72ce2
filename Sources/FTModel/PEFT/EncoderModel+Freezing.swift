import FTCore

extension EncoderModel {
    /// The base layout with each layer's adapter tensors placed right after that layer's own,
    /// so every layer's trainable gradients stay together in the packed gradient buffer (the
    /// all-reduce buckets of a layer are contiguous).
    static func layout(config: EncoderConfig, numLabels: Int, head: EncoderHead, peft: PEFTSetup?) -> [(name: String, shape: [Int])] {
        let base = layout(config: config, numLabels: numLabels, head: head)
        guard let peft else { return base }
        let names = config.family.names
        let extra = PEFTModules.layout(setup: peft, config: config)
        var result: [(name: String, shape: [Int])] = []
        for tensor in base {
            result.append(tensor)
            if let l = names.layer(ofTensor: tensor.name), tensor.name == names.layer(l) + names.outputNorm + ".bias" {
                result += extra[l]
            }
            if tensor.name == names.pooler + ".bias" { result += extra[config.numHiddenLayers] }
        }
        return result
    }

    /// Freezes every tensor `isTrainable` rejects: only the others keep gradient storage,
    /// optimizer state and all-reduce traffic (`ParameterStore.setTrainable`). The family's fixed
    /// tensors (DistilBERT's sinusoidal positions) stay frozen whatever `isTrainable` says.
    public func setTrainable(_ isTrainable: (String) -> Bool) {
        store.setTrainable { isTrainable($0) && !fixedTensors.contains($0) }
    }

    /// How far backward must go: the lowest layer whose backward is needed (a trainable tensor in
    /// it or below it), `numHiddenLayers` when none is, and whether the embeddings have anything
    /// to train. Layers below the lowest needed one are skipped entirely.
    func backwardReach() -> (lowestLayer: Int, embeddings: Bool) {
        let names = config.family.names
        var lowest = config.numHiddenLayers
        var embeddings = false
        for view in store.views where view.isTrainable {
            if names.isEmbeddingTensor(view.name) {
                embeddings = true
            } else if let l = names.layer(ofTensor: view.name) {
                lowest = min(lowest, l)
            }
        }
        return (embeddings ? 0 : lowest, embeddings)
    }
}

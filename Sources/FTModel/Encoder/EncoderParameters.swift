import FTCore

/// Typed views of an encoder's parameters: value and gradient pointers per tensor, per layer,
/// built once from the store by name (llm.c's `ParameterTensors`), so the forward and backward
/// passes index fields instead of looking strings up. Rebuilt when the store's trainable set
/// changes (`ParameterStore.generation`).
struct EncoderParameters {
    /// A linear layer: `weight (out, in)`, `bias (out)`.
    struct Linear {
        let weight: TensorSlot
        let bias: TensorSlot
    }

    /// A layer norm: `gamma (C)`, `beta (C)`.
    struct Norm {
        let gamma: TensorSlot
        let beta: TensorSlot
    }

    /// One encoder layer.
    struct Layer {
        /// (3C, C) query, key and value weights back to back: one product ((3A, C) with pruned heads).
        let qkvWeight: UnsafeMutablePointer<Float>
        /// (3C) their biases.
        let qkvBias: UnsafeMutablePointer<Float>
        /// (3C, C) and (3C) gradients when all three parts train (one product fills them), else nil.
        let qkvWeightGradient: UnsafeMutablePointer<Float>?
        let qkvBiasGradient: UnsafeMutablePointer<Float>?
        /// Bias parts trained alone (PEFT's `bias="lora_only"` with LoRA on some of them): part k's
        /// (C) gradient is the column sums of that third of dQKV.
        let partialBiasGradients: [(part: Int, gradient: UnsafeMutablePointer<Float>)]
        let attentionOutput: Linear
        let attentionNorm: Norm
        /// The feed-forward input projection (C → I) and output projection (I → C).
        let intermediate: Linear
        let output: Linear
        let outputNorm: Norm
    }

    let wordEmbeddings: TensorSlot  // (V, C)
    let positionEmbeddings: TensorSlot  // (P, C)
    let tokenTypeEmbeddings: TensorSlot?  // (types, C), nil for families without token types
    let embeddingNorm: Norm
    let layers: [Layer]
    /// The dense layer on the first token (BERT's pooler, DistilBERT's `pre_classifier`), when present.
    let pooler: Linear?
    /// `classifier (L, C)`, when the model has a head.
    let classifier: Linear?
    /// The store generation these pointers belong to.
    let generation: Int

    /// - Precondition: the store holds the family's layout (the model made it).
    init(store: ParameterStore, config: EncoderConfig, hasPooler: Bool, hasClassifier: Bool) {
        let names = config.family.names
        func linear(_ prefix: String) -> Linear { Linear(weight: store.slot(prefix + ".weight"), bias: store.slot(prefix + ".bias")) }
        func norm(_ prefix: String) -> Norm { Norm(gamma: store.slot(prefix + ".weight"), beta: store.slot(prefix + ".bias")) }
        wordEmbeddings = store.slot(names.wordEmbeddings)
        positionEmbeddings = store.slot(names.positionEmbeddings)
        tokenTypeEmbeddings = names.tokenTypeEmbeddings.map(store.slot)
        embeddingNorm = norm(names.embeddingNorm)
        layers = (0..<config.numHiddenLayers).map { l in
            let p = names.layer(l)
            let parts = names.layerModules[0..<3].map { p + $0 }
            let weightGradient = store.gradient(spanning: parts.map { $0 + ".weight" })
            precondition(
                weightGradient != nil || parts.allSatisfy { !store.isTrainable($0 + ".weight") },
                "layer \(l): query, key and value weights must be trained together (one fused product)")
            let biasGradient = store.gradient(spanning: parts.map { $0 + ".bias" })
            var partial: [(part: Int, gradient: UnsafeMutablePointer<Float>)] = []
            if biasGradient == nil {
                for (k, part) in parts.enumerated() {
                    if let g = store.gradient(part + ".bias") { partial.append((k, g)) }
                }
            }
            return Layer(
                qkvWeight: store.value(parts[0] + ".weight"), qkvBias: store.value(parts[0] + ".bias"),
                qkvWeightGradient: weightGradient, qkvBiasGradient: biasGradient, partialBiasGradients: partial,
                attentionOutput: linear(p + names.layerModules[3]), attentionNorm: norm(p + names.attentionNorm),
                intermediate: linear(p + names.layerModules[4]), output: linear(p + names.layerModules[5]),
                outputNorm: norm(p + names.outputNorm))
        }
        pooler = hasPooler ? linear(names.pooler) : nil
        classifier = hasClassifier ? linear(names.classifier) : nil
        generation = store.generation
    }
}

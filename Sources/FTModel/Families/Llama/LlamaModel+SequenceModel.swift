import FTCore

/// `LlamaModel` behind the model interface: `forward` returns the (B, T, V) next-token logits
/// (token types ignored; the attention mask is key padding, right padding; positions 0 ..< T);
/// `backward` takes their gradient.
extension LlamaModel: CausalLanguageModel {
    public var numLabels: Int { 0 }
    public var tensorNames: any ModelTensorNaming { LlamaTensorNaming(tiedEmbeddings: config.tieWordEmbeddings) }
    public var architectureName: String { "LlamaForCausalLM" }
    public var peftTaskType: String { "CAUSAL_LM" }
    public var layerCount: Int { config.numHiddenLayers }
    public var hiddenSize: Int { config.hiddenSize }
    public var vocabularySize: Int { config.vocabSize }
    public var maxSequenceLength: Int { config.maxPositionEmbeddings }
    public var computesFirstTokensOnly: Bool { false }

    /// PEFT's count: every tensor (adapters included; no modules to save), and the trainable ones.
    public var trainableParameterCount: TrainableParameterCount {
        TrainableParameterCount(trainable: store.trainableCount, all: store.count)
    }

    public func forward(
        inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>, attentionMask: UnsafePointer<Int32>,
        batch: Int, sequence: Int, training: Bool, dropoutSeed: UInt64, firstTokenOnly: Bool
    ) throws -> ModelOutputs {
        let logits = try forwardLogits(
            inputIds: inputIds, attentionMask: attentionMask, batch: batch, sequence: sequence, training: training,
            dropoutSeed: dropoutSeed)
        return ModelOutputs(lastHiddenState: UnsafePointer(workspace!.finalNormed), pooled: nil, logits: logits)
    }

    public func backward(
        dLogits: UnsafePointer<Float>?, dPooled: UnsafePointer<Float>?, dLastHiddenState: UnsafePointer<Float>?,
        gradientsReady: ((Int) -> Void)?
    ) {
        backwardLogits(dLogits: dLogits, dLastHiddenState: dLastHiddenState, gradientsReady: gradientsReady)
    }

    /// `base` with the architecture and the model's sizes; a causal LM has no labels.
    public func exportConfig(base: [String: Any], labels: [String]) -> [String: Any] {
        var object = base
        object["architectures"] = [architectureName]
        config.write(into: &object)
        object.removeValue(forKey: "_name_or_path")
        return object
    }

    /// Matrix-product FLOPs as the PyTorch anchor (scripts/anchors/torch_llm_bench.py) counts them:
    /// every linear product, LoRA's, attention's QKᵀ and PV in full (causal or not), the output
    /// projection; a training step adds the input gradients of all of them, twice the attention,
    /// and the weight gradients of the trainable products.
    public func flops(batch: Int, sequence: Int, firstTokenOnly: Bool) -> ModelFLOPs {
        let N = Double(batch * sequence), C = Double(config.hiddenSize), V = Double(config.vocabSize)
        let L = Double(config.numHiddenLayers)
        var base = 0.0, lowRank = 0.0, trainedBase = 0.0
        for module in LlamaLinearModule.allCases {
            let (inputs, outputs) = module.dimensions(config)
            base += Double(inputs * outputs)
            if let lora, lora.targets.first?.contains(module) ?? false {
                lowRank += Double(lora.configuration.rank * (inputs + outputs))
            }
            if store.isTrainable(LlamaTensorNames.weight(0, module)) { trainedBase += Double(inputs * outputs) }
        }
        let attention = 2 * 2 * Double(batch) * Double(sequence * sequence) * Double(config.queryWidth)
        let forward = L * (2 * base * N + 2 * lowRank * N + attention) + 2 * C * V * N
        let headTrained = store.isTrainable(config.tieWordEmbeddings ? LlamaTensorNames.embedTokens : LlamaTensorNames.lmHead)
        let loraTrained = lora != nil && store.trainableCount > 0 && store.views.contains { $0.isTrainable && LoRALayers.isLoRATensor($0.name) }
        let backward =
            L * (2 * base * N + 2 * lowRank * N + 2 * attention + 2 * trainedBase * N + (loraTrained ? 2 * lowRank * N : 0))
            + 2 * C * V * N + (headTrained ? 2 * C * V * N : 0)
        return ModelFLOPs(forward: forward, trainingStep: forward + backward)
    }
}

/// Its passes report their embeddings, layers and head to `spanRecorder`.
extension LlamaModel: SpanRecordingModel {}

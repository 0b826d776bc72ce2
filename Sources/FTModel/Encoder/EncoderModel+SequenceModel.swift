import FTCore

/// `EncoderModel` behind the model interface.
extension EncoderModel: SequenceModel {
    public var tensorNames: any ModelTensorNaming { config.family.names }
    public var architectureName: String {
        config.family.architecture(for: head)
    }
    public var peftTaskType: String { head.peftTaskType }
    public var layerCount: Int { config.numHiddenLayers }
    public var hiddenSize: Int { config.hiddenSize }
    public var vocabularySize: Int { config.vocabSize }
    public var maxSequenceLength: Int { config.maxSequenceLength }

    /// The base config with `architectures`, `model_type`, the labels and the run's dropouts under
    /// the family's keys; unknown keys of the base are kept.
    public func exportConfig(base: [String: Any], labels: [String]) -> [String: Any] {
        var object = base
        object["architectures"] = [architectureName]
        object["model_type"] = config.family.name
        object["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
        object["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        if head == .sequenceClassification {
            object["problem_type"] = problemType ?? (base["problem_type"] as? String) ?? "single_label_classification"
        } else {
            object.removeValue(forKey: "problem_type")
        }
        object["vocab_size"] = config.vocabSize  // resized by added tokens (every family's key)
        config.family.writeConfig(config, &object)
        if config.hasPrunedHeads { object["pruned_heads"] = config.prunedHeadsJSON }
        object.removeValue(forKey: "_name_or_path")
        return object
    }

    public func flops(batch: Int, sequence: Int, firstTokenOnly: Bool) -> ModelFLOPs {
        let count = EncoderFLOPs(
            config: config, batch: batch, sequence: sequence, labels: numLabels, tokenHead: head.isPerToken,
            lora: peft?.lora != nil, firstTokenOnly: firstTokenOnly && computesFirstTokensOnly)
        return firstTokenOnly
            ? ModelFLOPs(forward: count.computedForward, trainingStep: count.computedTrainingStep)
            : ModelFLOPs(forward: count.forward, trainingStep: count.trainingStep)
    }
}

/// Its passes report their embeddings, layers and head to `spanRecorder`.
extension EncoderModel: SpanRecordingModel {}

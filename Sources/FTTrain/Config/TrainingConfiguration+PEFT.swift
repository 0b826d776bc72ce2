import FTModel
import Foundation

extension TrainingConfiguration {
    /// The LoRA setup of `peft: lora`, with PEFT's names; nil for full fine-tuning.
    public var loraConfiguration: LoRAConfiguration? {
        guard peft == .lora else { return nil }
        return LoRAConfiguration(
            rank: loraR, alpha: loraAlpha, dropout: Float(loraDropout),
            targetModules: loraTargetModules.names, useRSLoRA: useRSLoRA, bias: loraBias,
            modulesToSave: modulesToSave?.names ?? defaultModulesToSave)
    }

    /// The bottleneck adapters of `peft: adapter`; nil otherwise.
    public var bottleneckConfiguration: BottleneckConfiguration? {
        guard peft == .adapter else { return nil }
        return BottleneckConfiguration(reductionFactor: adapterReductionFactor, modulesToSave: modulesToSave?.names ?? defaultModulesToSave)
    }

    /// What the model is built with.
    public var peftSetup: PEFTSetup? {
        switch peft {
        case .none: return nil
        case .lora: return loraConfiguration.map { PEFTSetup(lora: $0) }
        case .adapter: return bottleneckConfiguration.map { PEFTSetup(bottleneck: $0) }
        }
    }

    /// The dropout overrides the model is built with (`hidden_dropout_prob`, … ; nil keeps the model's).
    public var modelOverrides: ModelOverrides {
        ModelOverrides(
            hiddenDropout: hiddenDropoutProb.map(Float.init), attentionDropout: attentionProbsDropoutProb.map(Float.init),
            classifierDropout: classifierDropout.map(Float.init))
    }

    /// The layers `freeze_layers` names (empty when unset or malformed; validation reports the latter).
    public var frozenLayers: Set<Int> {
        freezeLayers.flatMap(LayerSelection.parse) ?? []
    }

    /// Whether tensor `name` (store name of a model whose family names are `names`) is trained:
    /// the PEFT method's rule, then the freezing keys.
    public func isTrainable(_ name: String, names: any ModelTensorNaming = EncoderFamily.bert.names) -> Bool {
        if let setup = peftSetup, !setup.isTrainable(name, names: names) { return false }
        if freezeEmbeddings && names.isEmbeddingTensor(name) { return false }
        if let layer = names.layer(ofTensor: name), frozenLayers.contains(layer) { return false }
        return true
    }

    /// Problems of the PEFT and freezing keys, each naming its key.
    func peftProblems() -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        func invalid(_ key: String, _ message: String) {
            problems.append(ConfigurationProblem(kind: .invalidValue, key: key, message: message))
        }
        if let freezeLayers, LayerSelection.parse(freezeLayers) == nil {
            invalid(
                "freeze_layers",
                "`freeze_layers` must list layer indices (at most \(LayerSelection.maximumIndex)) and ranges such as 0-3 or 0,2, found `\(freezeLayers)`"
            )
        }
        if peft == .none && modulesToSave != nil {
            invalid("modules_to_save", "`modules_to_save` has no effect unless `peft` is lora or adapter")
        }
        guard peft == .lora else {
            for (key, changed) in [
                ("lora_target_modules", loraTargetModules != ["query", "value"]),
                ("use_rslora", useRSLoRA), ("lora_bias", loraBias != .none), ("lora_r", loraR != 8),
                ("lora_alpha", loraAlpha != 8), ("lora_dropout", loraDropout != 0),
            ] where changed {
                invalid(key, "`\(key)` has no effect unless `peft` is lora")
            }
            if peft == .adapter && adapterReductionFactor < 1 {
                invalid("adapter_reduction_factor", "`adapter_reduction_factor` must be >= 1, found \(adapterReductionFactor)")
            }
            return problems
        }
        if loraR < 1 { invalid("lora_r", "`lora_r` must be >= 1, found \(loraR)") }
        if !(loraAlpha > 0 && loraAlpha.isFinite) { invalid("lora_alpha", "`lora_alpha` must be > 0, found \(loraAlpha)") }
        if !(loraDropout >= 0 && loraDropout < 1) { invalid("lora_dropout", "`lora_dropout` must be in [0, 1), found \(loraDropout)") }
        if let lora = loraConfiguration, loraR >= 1, loraAlpha > 0, loraDropout >= 0, loraDropout < 1 {
            for problem in lora.problems {
                invalid(problem.hasPrefix("`modules_to_save`") ? "modules_to_save" : "lora_target_modules", problem)
            }
        }
        return problems
    }

    /// Problems that need the model: layers `freeze_layers` names beyond its depth.
    public func peftProblems(numHiddenLayers: Int) -> [String] {
        let beyond = frozenLayers.filter { $0 >= numHiddenLayers }.sorted()
        guard beyond.isEmpty else {
            return [
                "`freeze_layers` names layer\(beyond.count == 1 ? "" : "s") \(beyond.map(String.init).joined(separator: ", ")), but the model has \(numHiddenLayers) layers (0-\(numHiddenLayers - 1))"
            ]
        }
        return []
    }
}

extension TrainingConfiguration {
    /// The head PEFT saves beside the adapter when `modules_to_save` is not set: `qa_outputs` for
    /// question answering (as PEFT's `QUESTION_ANS` task adds it), else `classifier`.
    var defaultSavedHead: String { task == .questionAnswering ? EncoderHead.questionAnswering.layerName : "classifier" }

    /// `modules_to_save` when the key is unset: the head, and `word_embeddings` when the vocabulary
    /// grew (``trainsNewEmbeddingRows``), so the new rows train under LoRA as under PEFT with
    /// `modules_to_save=["classifier", "word_embeddings"]` (the whole matrix trains and is saved
    /// with the adapter).
    var defaultModulesToSave: [String] { [defaultSavedHead] + (trainsNewEmbeddingRows ? [Self.wordEmbeddingModule] : []) }

    /// The module name of the word embeddings, as `modules_to_save` names it.
    static let wordEmbeddingModule = "word_embeddings"

    /// Whether the run's vocabulary has rows the base model never trained: `add_tokens`, or a
    /// model directory written by `fttrain extend-vocab` (it holds `extend_vocab.json`).
    public var trainsNewEmbeddingRows: Bool {
        if addTokens != nil { return true }
        guard let modelDir else { return false }
        let summary = URL(fileURLWithPath: modelDir, isDirectory: true).appendingPathComponent(VocabularyExtension.summaryFile)
        return FileManager.default.fileExists(atPath: summary.path)
    }
}

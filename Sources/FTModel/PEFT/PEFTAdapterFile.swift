import FTCore
import Foundation

/// A LoRA adapter in PEFT's on-disk format, so that an adapter trained by fttrain loads into
/// PyTorch with `PeftModel.from_pretrained` and one PEFT trained loads here:
///
/// - `adapter_config.json`: PEFT's `LoraConfig` (`peft_type` LORA, `task_type` SEQ_CLS or, for a
///   decoder, CAUSAL_LM with names such as `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, `r`,
///   `lora_alpha`, `lora_dropout`, `target_modules`, `bias`, `modules_to_save`, `use_rslora`, ...);
/// - `adapter_model.safetensors`: the trained tensors under PEFT's names (checked against
///   peft 0.21): `base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight`,
///   `...query.base_layer.bias` for the bias of a wrapped module, `base_model.model.classifier.weight`
///   for the saved head, `base_model.model.bert.<name>` for any other trained tensor.
///
/// Bottleneck adapters use the same layout with `peft_type` `BOTTLENECK` (fttrain's own: PEFT has
/// no bottleneck adapters, so only fttrain loads those).
public struct PEFTAdapter: Sendable {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"
    static let prefix = "base_model.model."

    /// What the adapter adds to the model: LoRA or bottleneck adapters.
    public let setup: PEFTSetup
    /// The LoRA configuration of a LoRA adapter.
    public var lora: LoRAConfiguration? { setup.lora }
    /// `base_model_name_or_path` of the config, when it names one.
    public let baseModelName: String?
    /// `task_type` of the config (`SEQ_CLS`, `TOKEN_CLS`, `QUESTION_ANS`, `CAUSAL_LM`), when given.
    public var taskType: String? = nil
    /// The adapter's tensors under fttrain's store names, in file order.
    public let tensors: [(name: String, shape: [Int], values: [Float])]

    // MARK: - Names

    /// The name PEFT gives store tensor `name` in `adapter_model.safetensors`, for a model of the
    /// family whose names are `names`.
    public static func savedName(
        _ name: String, lora: LoRAConfiguration?,
        names: any ModelTensorNaming = EncoderFamily.bert.names
    ) -> String {
        if let lora, name.hasSuffix(".bias") && lora.wrapsModule(ofTensor: name, names: names) {
            return prefix + names.checkpointName(String(name.dropLast(".bias".count)) + ".base_layer.bias")
        }
        return prefix + names.checkpointName(name)
    }

    /// The store name of a tensor saved by PEFT, or nil for copies PEFT also writes and fttrain
    /// does not need (`classifier.original_module.*`, the frozen original of a saved module).
    /// Store names never begin with a family's base prefix, so any registered one is removed.
    public static func storeName(_ saved: String) -> String? {
        guard saved.hasPrefix(prefix) else { return saved }
        var name = String(saved.dropFirst(prefix.count))
        if name.contains(".original_module.") { return nil }
        for wrapper in [".modules_to_save.default.", ".modules_to_save.", ".base_layer."] {
            name = name.replacingOccurrences(of: wrapper, with: ".")
        }
        if let family = ModelRegistry.encoderFamilies.first(where: { name.hasPrefix($0.names.basePrefix) }) {
            name.removeFirst(family.names.basePrefix.count)
        }
        return name
    }

    // MARK: - Reading

    /// Reads an adapter directory written by PEFT (or by `write`).
    /// - Throws: `ModelError` naming the file and the problem: a missing file, a PEFT type or
    ///   option fttrain does not compute (DoRA, per-layer ranks, regex targets, ...), bad values.
    public static func read(directory: URL) throws -> PEFTAdapter {
        let configPath = directory.appendingPathComponent(configFile).path
        let weightsPath = directory.appendingPathComponent(weightsFile).path
        guard let data = FileManager.default.contents(atPath: configPath) else { throw ModelError.missingFile(configPath) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.badConfig(configPath, "not a JSON object")
        }
        let setup = try configuration(from: object, path: configPath)
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw ModelError.missingFile(weightsPath) }
        let file = try SafeTensorsFile(path: weightsPath)
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
        var seen = Set<String>()
        for info in file.tensors {
            guard let name = storeName(info.name), !seen.contains(name) else { continue }
            seen.insert(name)
            tensors.append((name, info.shape, try file.floats(info.name)))
        }
        return PEFTAdapter(
            setup: setup, baseModelName: object["base_model_name_or_path"] as? String, taskType: object["task_type"] as? String, tensors: tensors)
    }

    static func configuration(from object: [String: Any], path: String) throws -> PEFTSetup {
        func bad(_ message: String) -> ModelError { ModelError.badConfig(path, message) }
        if (object["peft_type"] as? String) == "BOTTLENECK" {
            guard let factor = object["reduction_factor"] as? Int, factor >= 1 else { throw bad("reduction_factor must be an integer >= 1") }
            return PEFTSetup(
                bottleneck: BottleneckConfiguration(
                    reductionFactor: factor,
                    modulesToSave: object["modules_to_save"] as? [String] ?? []))
        }
        guard (object["peft_type"] as? String) == "LORA" else {
            throw bad("peft_type \(object["peft_type"].map { "\($0)" } ?? "missing") is not LORA (nor fttrain's BOTTLENECK)")
        }
        if let task = object["task_type"] as? String, !["SEQ_CLS", "TOKEN_CLS", "QUESTION_ANS", "CAUSAL_LM"].contains(task) {
            throw bad(
                "task_type \(task): fttrain runs sequence classification (SEQ_CLS), token classification (TOKEN_CLS), extractive QA (QUESTION_ANS) and causal language modelling (CAUSAL_LM)"
            )
        }
        for key in ["use_dora", "fan_in_fan_out"] where (object[key] as? Bool) == true {
            throw bad("\(key) true is not supported")
        }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let pattern = object[key] as? [String: Any], !pattern.isEmpty { throw bad("\(key) (per-module ranks) is not supported") }
        }
        for key in ["layers_to_transform", "layer_replication"] where !(object[key] == nil || object[key] is NSNull) {
            throw bad("\(key) is not supported")
        }
        // PiSSA, OLoRA, LoftQ, EVA, CorDA... rewrite the base weights when they initialise, so the
        // adapter is only right over a base fttrain does not have; Gaussian A is just another start.
        if let initialization = object["init_lora_weights"] as? String, initialization != "gaussian" {
            throw bad("init_lora_weights \(initialization) changes the base weights; such adapters are not supported")
        }
        guard let rank = object["r"] as? Int else { throw bad("r is missing or not an integer") }
        guard let alpha = (object["lora_alpha"] as? NSNumber)?.doubleValue else { throw bad("lora_alpha is missing or not a number") }
        let dropout = (object["lora_dropout"] as? NSNumber)?.floatValue ?? 0
        let targets: [String]
        if let list = object["target_modules"] as? [String] {
            targets = list
        } else if let pattern = object["target_modules"] as? String {
            throw bad("target_modules as a regular expression (\(pattern)) is not supported; list module names")
        } else {
            throw bad("target_modules is missing")
        }
        let biasText = object["bias"] as? String ?? "none"
        guard let bias = LoRABias(rawValue: biasText) else { throw bad("bias \(biasText) is not none, all or lora_only") }
        let modulesToSave = object["modules_to_save"] as? [String] ?? []
        let lora = LoRAConfiguration(
            rank: rank, alpha: alpha, dropout: dropout, targetModules: targets,
            useRSLoRA: object["use_rslora"] as? Bool ?? false, bias: bias,
            modulesToSave: modulesToSave)
        if let problem = lora.problems.first { throw bad(problem) }
        return PEFTSetup(lora: lora)
    }

    // MARK: - Applying

    /// Copies the adapter's tensors into `model`, whose setup must give the same tensors (build it
    /// with `adapter.setup`).
    /// - Throws: `ModelError` for a tensor the model has no place for or of another shape, or for
    ///   a LoRA tensor of the model the adapter lacks.
    public func apply(to model: any SequenceModel, source: String) throws {
        let store = model.store
        var loaded = Set<String>()
        for tensor in tensors {
            guard store.contains(tensor.name) else {
                throw ModelError.badInput(
                    "\(source): adapter tensor \(Self.savedName(tensor.name, lora: lora, names: model.tensorNames)) has no place in the model")
            }
            let view = store.view(tensor.name)
            guard view.shape == tensor.shape else {
                throw ModelError.shapeMismatch(file: source, tensor: tensor.name, expected: view.shape, found: tensor.shape)
            }
            store.value(tensor.name).update(from: tensor.values, count: view.count)
            loaded.insert(tensor.name)
        }
        for name in store.views.map(\.name) where PEFTModules.isAdapterTensor(name) && !loaded.contains(name) {
            throw ModelError.missingTensor(file: source, tensor: Self.savedName(name, lora: lora, names: model.tensorNames))
        }
    }

    // MARK: - Writing

    /// Writes the adapter of `model` (LoRA unmerged, or bottleneck adapters) as PEFT does: the
    /// config and every tensor the setup trains (A, B, biases per `bias`, the modules to save),
    /// staged beside the destination and renamed into place (`StagedDirectory`). `extraFiles` (name → bytes) are
    /// written alongside.
    public static func write(
        model: any SequenceModel, to destination: URL, baseModelName: String?,
        extraFiles: [String: Data] = [:]
    ) throws {
        guard let setup = model.peft?.setup else { throw ModelError.badInput("the model has no adapter to save") }
        precondition(!(model.peft?.loraBranches?.isMerged ?? false), "unmerge the adapter before saving it")
        let lora = setup.lora
        try StagedDirectory.write(destination) { staged in
            var writer = SafeTensorsWriter(metadata: ["format": "pt"])
            for view in model.store.views where setup.isTrainable(view.name, names: model.tensorNames) {
                try writer.add(
                    savedName(view.name, lora: lora, names: model.tensorNames), shape: view.shape,
                    floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count))
            }
            try writer.write(toPath: staged.file(weightsFile).path)
            // A causal LM has no classification head: modules_to_save entries that name no module
            // of it (the default `classifier`) are left out, so PEFT finds nothing missing.
            let savedLoRA = lora.map { lora -> LoRAConfiguration in
                guard model.peftTaskType == "CAUSAL_LM" else { return lora }
                var kept = lora
                kept.modulesToSave = lora.modulesToSave.filter { target in
                    model.store.views.contains { model.tensorNames.moduleName(ofTensor: $0.name).hasSuffix(target) }
                }
                return kept
            }
            let config =
                savedLoRA.map { configObject($0, baseModelName: baseModelName, taskType: model.peftTaskType) }
                ?? bottleneckConfigObject(setup.bottleneck ?? BottleneckConfiguration(), baseModelName: baseModelName)
            try staged.write(
                try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                to: configFile)
            for (name, data) in extraFiles { try staged.write(data, to: name) }
        }
    }

    /// PEFT's `LoraConfig` fields for this setup (the others at PEFT's defaults).
    static func configObject(_ lora: LoRAConfiguration, baseModelName: String?, taskType: String = "SEQ_CLS") -> [String: Any] {
        [
            "peft_type": "LORA", "task_type": taskType, "r": lora.rank, "lora_alpha": lora.alpha,
            "lora_dropout": Double(lora.dropout), "target_modules": lora.targetModules, "bias": lora.bias.rawValue,
            "modules_to_save": lora.modulesToSave, "use_rslora": lora.useRSLoRA, "fan_in_fan_out": false,
            "init_lora_weights": true, "inference_mode": true, "use_dora": false,
            "base_model_name_or_path": baseModelName.map { $0 as Any } ?? NSNull(),
            "layers_to_transform": NSNull(), "layers_pattern": NSNull(), "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](), "revision": NSNull(),
        ]
    }

    /// fttrain's config of bottleneck adapters, in the same file.
    static func bottleneckConfigObject(_ bottleneck: BottleneckConfiguration, baseModelName: String?) -> [String: Any] {
        [
            "peft_type": "BOTTLENECK", "task_type": "SEQ_CLS", "reduction_factor": bottleneck.reductionFactor,
            "non_linearity": "relu", "placement": "after the feed-forward block, before its residual and LayerNorm",
            "modules_to_save": bottleneck.modulesToSave, "inference_mode": true,
            "base_model_name_or_path": baseModelName.map { $0 as Any } ?? NSNull(),
        ]
    }
}

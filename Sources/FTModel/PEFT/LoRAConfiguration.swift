/// Which biases a LoRA setup trains (PEFT's `bias`).
public enum LoRABias: String, Sendable, CaseIterable, Codable {
    /// No bias is trained.
    case none
    /// Every bias of the model is trained.
    case all
    /// The biases of the modules LoRA targets are trained.
    case loraOnly = "lora_only"
}

/// A LoRA setup with PEFT's semantics and names (`peft.LoraConfig`):
/// `W x + b` becomes `W x + b + scaling · B A dropout(x)` on each targeted linear module, with
/// `A (r, in)` Kaiming-uniform, `B (out, r)` zero at start, `scaling = alpha / r` (or
/// `alpha / √r` with `use_rslora`). The base weights are frozen; A, B, the modules to save (the
/// classification head) and, per `bias`, some biases are trained.
/// reference: https://huggingface.co/docs/peft/package_reference/lora, Hu et al. 2021.
public struct LoRAConfiguration: Sendable, Equatable {
    /// r, the rank of the update (PEFT `r`).
    public var rank: Int
    /// PEFT `lora_alpha`.
    public var alpha: Double
    /// PEFT `lora_dropout`: dropout on the input of the low-rank branch, in training.
    public var dropout: Float
    /// PEFT `target_modules`: module names matched as PEFT does, exactly or as a dotted suffix
    /// (`query`, `value`, `attention.output.dense`, `intermediate.dense`, `pooler.dense`;
    /// `output.dense` matches both the attention output and the feed-forward output projections,
    /// `dense` all four dense layers).
    public var targetModules: [String]
    /// PEFT `use_rslora`: scale by `alpha / √r`.
    public var useRSLoRA: Bool
    /// PEFT `bias`.
    public var bias: LoRABias
    /// PEFT `modules_to_save`: modules trained fully and saved with the adapter (the
    /// classification head, `classifier`, for sequence classification).
    public var modulesToSave: [String]

    public init(
        rank: Int = 8, alpha: Double = 8, dropout: Float = 0, targetModules: [String] = ["query", "value"],
        useRSLoRA: Bool = false, bias: LoRABias = .none, modulesToSave: [String] = ["classifier"]
    ) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = targetModules
        self.useRSLoRA = useRSLoRA
        self.bias = bias
        self.modulesToSave = modulesToSave
    }

    /// The factor of the low-rank term: `alpha / r`, or `alpha / √r` with rsLoRA (PEFT computes
    /// it in Python floats; it is rounded to float32 once).
    public var scaling: Float {
        Float(useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank))
    }

    /// PEFT's matching of a `target_modules` entry against a module's full name: equal, or a
    /// suffix after a dot (`check_target_module_exists`).
    public static func matches(_ target: String, moduleName: String) -> Bool {
        moduleName == target || moduleName.hasSuffix("." + target)
    }

    /// Whether LoRA wraps the module `moduleName` (a full Hugging Face name such as
    /// `bert.encoder.layer.0.attention.self.query`).
    public func targets(moduleName: String) -> Bool {
        targetModules.contains { Self.matches($0, moduleName: moduleName) }
    }

    /// Whether `moduleName` is one of the modules to save. PEFT matches these by a plain suffix,
    /// without the dot `target_modules` needs (`_set_trainable`: `key.endswith(target_key)`), so
    /// `classifier` also saves DistilBERT's `pre_classifier`. A wrapped module takes the modules
    /// inside it along: RoBERTa's `classifier` head holds `classifier.dense` and `classifier.out_proj`.
    public func saves(moduleName: String) -> Bool {
        var name = Substring(moduleName)
        while true {
            if modulesToSave.contains(where: { name.hasSuffix($0) }) { return true }
            guard let dot = name.lastIndex(of: ".") else { return false }
            name = name[..<dot]
        }
    }

    /// Problems with the values, one message each naming PEFT's key; empty when valid.
    public var problems: [String] {
        var problems: [String] = []
        if rank < 1 { problems.append("LoRA `r` must be >= 1, found \(rank)") }
        if !(alpha > 0 && alpha.isFinite) { problems.append("`lora_alpha` must be > 0, found \(alpha)") }
        if !(dropout >= 0 && dropout < 1) { problems.append("`lora_dropout` must be in [0, 1), found \(dropout)") }
        if targetModules.isEmpty { problems.append("`target_modules` names no module") }
        // A target must name a linear module of some family; the model then checks its own (`PEFTModules`).
        let wrappable =
            ModelRegistry.encoderFamilies.flatMap { family in
                EncoderLinearModule.allCases.map { $0.fullName(layer: 0, names: family.names) }
            } + LlamaLinearModule.allCases.map { LlamaTensorNames.moduleName(0, $0) }
        for target in targetModules {
            if Self.matches(target, moduleName: "classifier") {
                problems.append(
                    "`target_modules` entry `\(target)` reaches the classification head, which is trained whole (modules_to_save), not with LoRA")
            } else if !wrappable.contains(where: { Self.matches(target, moduleName: $0) }) {
                problems.append(
                    "`target_modules` entry `\(target)` matches no linear module of BERT (query, key, value, attention.output.dense, intermediate.dense, output.dense, pooler.dense) nor of DistilBERT (q_lin, k_lin, v_lin, out_lin, lin1, lin2, pre_classifier) nor of Llama (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"
                )
            }
        }
        let fusedParts = ModelRegistry.encoderFamilies.flatMap { family in
            [EncoderLinearModule.query, .key, .value].map { $0.fullName(layer: 0, names: family.names) }
        }
        for target in modulesToSave where fusedParts.contains(where: { Self.matches(target, moduleName: $0) }) {
            problems.append(
                "`modules_to_save` entry `\(target)` names one part of the fused query/key/value product; fttrain trains them together only")
        }
        return problems
    }
}

/// Finds the known setting closest to a misspelt or foreign name, for "did you mean" messages.
enum KeySuggestion {
    /// Names people bring from other tools (or older Hugging Face versions), mapped to our key.
    static let aliases: [String: String] = [
        "evaluation_strategy": "eval_strategy",  // HF's name before v4.41
        "lr": "learning_rate",
        "epochs": "num_train_epochs",
        "num_epochs": "num_train_epochs",
        "batch_size": "per_device_train_batch_size",
        "train_batch_size": "per_device_train_batch_size",
        "eval_batch_size": "per_device_eval_batch_size",
        "max_seq_length": "max_length",
        "max_seq_len": "max_length",
        "model_name_or_path": "model_dir",
        "model_path": "model_dir",
        "warmup": "warmup_ratio",
        "scheduler": "lr_scheduler_type",
        "grad_accum": "gradient_accumulation_steps",
        "clip_grad_norm": "max_grad_norm",
        "dropout": "hidden_dropout_prob",
        "eval_file": "validation_file",
        "dev_file": "validation_file",
    ]

    /// Hugging Face `TrainingArguments` keys fttrain knowingly does not implement.
    static let unsupportedHuggingFaceKeys: Set<String> = [
        "tf32", "optim", "report_to", "logging_dir", "logging_strategy", "logging_first_step",
        "overwrite_output_dir", "do_train", "do_eval", "do_predict", "push_to_hub", "hub_model_id",
        "dataloader_num_workers", "dataloader_pin_memory", "gradient_checkpointing", "label_smoothing_factor",
        "eval_accumulation_steps", "save_safetensors", "use_cpu", "no_cuda", "local_rank", "torch_compile",
        "run_name", "data_seed", "eval_delay", "deepspeed", "fsdp", "auto_find_batch_size", "full_determinism",
    ]

    /// Why `fp16` is refused: Hugging Face's float16 mixed precision needs a GPU's loss scaling;
    /// the CPU's mixed precision is bfloat16.
    static let fp16Refusal = "float16 mixed precision is a GPU setting; on CPU use `bf16: true` (bfloat16 products, float32 accumulation)"

    /// The known key nearest to `name` by edit distance, if it is close enough to be a typo
    /// (at most max(2, a third of the name's length) edits), or the alias's target.
    static func suggestion(for name: String, among known: [String]) -> String? {
        let normalized = name.lowercased().replacingOccurrences(of: "-", with: "_")
        if let target = aliases[normalized], known.contains(target) { return target }
        var best: (name: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(normalized, candidate)
            if distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(2, normalized.count / 3) else { return nil }
        return best.name
    }

    /// Levenshtein distance: the fewest single-character insertions, deletions and substitutions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

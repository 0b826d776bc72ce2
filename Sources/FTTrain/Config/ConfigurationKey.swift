import Foundation
import Yams

/// One setting of `TrainingConfiguration`: its snake_case key, its flag, its one-line help and
/// default, and how to read, write and parse it. `ConfigurationKey.all` drives decoding, encoding,
/// command-line overrides, `--help` and `describe()`, so the five cannot drift apart.
public struct ConfigurationKey: Sendable {
    /// The groups of settings, in the order `--help` prints them.
    public enum Group: String, Sendable, CaseIterable {
        case run = "Run (Hugging Face TrainingArguments)"
        case data = "Data"
        case model = "Model (overrides the model's config.json)"
        case peft = "Parameter-efficient fine-tuning (PEFT's LoraConfig names) and freezing"
    }

    /// The key in files: `learning_rate`.
    public let name: String
    public let group: Group
    /// One line: why the setting exists and what it does.
    public let help: String
    /// What the value must be, for messages: "a number", "one of `no`, `steps`, `epoch`".
    public let expected: String
    /// The value placeholder for `--help`: `<number>`.
    public let placeholder: String
    /// True when the bare flag means `true`.
    public let isBoolean: Bool
    /// The default, as `describe()` shows values.
    public let defaultText: String

    let decode: @Sendable (inout TrainingConfiguration, KeyedDecodingContainer<ConfigurationCodingKey>) throws -> Void
    let encode: @Sendable (TrainingConfiguration, inout KeyedEncodingContainer<ConfigurationCodingKey>) throws -> Void
    /// Sets the value from a flag's text; false when the text does not parse.
    let parse: @Sendable (inout TrainingConfiguration, String) -> Bool
    let display: @Sendable (TrainingConfiguration) -> String
    let yaml: @Sendable (TrainingConfiguration) -> Node

    /// The command-line flag: `--learning-rate`.
    public var flag: String { "--" + name.replacingOccurrences(of: "_", with: "-") }

    var codingKey: ConfigurationCodingKey { ConfigurationCodingKey(name) }

    init<Value: ConfigurationValue>(
        _ name: String, _ path: WritableKeyPath<TrainingConfiguration, Value> & Sendable,
        _ group: Group, _ help: String
    ) {
        self.name = name
        self.group = group
        self.help = help
        self.expected = Value.expected
        self.placeholder = Value.placeholder
        self.isBoolean = Value.isBoolean
        self.defaultText = TrainingConfiguration()[keyPath: path].displayText
        let key = ConfigurationCodingKey(name)
        decode = { configuration, container in
            configuration[keyPath: path] = try container.decode(Value.self, forKey: key)
        }
        encode = { configuration, container in
            try container.encode(configuration[keyPath: path], forKey: key)
        }
        parse = { configuration, text in
            guard let value = Value(flagText: text) else { return false }
            configuration[keyPath: path] = value
            return true
        }
        display = { $0[keyPath: path].displayText }
        yaml = { $0[keyPath: path].yamlNode }
    }

    /// The key named `name` (snake_case), if there is one.
    public static func named(_ name: String) -> ConfigurationKey? { byName[name] }

    static let byName: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Every setting, grouped, in the order of `TrainingConfiguration`'s properties.
    public static let all: [ConfigurationKey] = [
        // Run
        .init("output_dir", \.outputDir, .run, "Where checkpoints, the final model, metrics and the run log are written (required)."),
        .init(
            "model_dir", \.modelDir, .run,
            "The pretrained Hugging Face model directory to fine-tune: config.json, vocab.txt, model.safetensors (required)."),
        .init("seed", \.seed, .run, "Seeds the head's initialisation, shuffling, dropout and the data split, so a run can be repeated exactly."),
        .init("num_train_epochs", \.numTrainEpochs, .run, "Passes over the training set; a fraction stops part-way through the last epoch."),
        .init("max_steps", \.maxSteps, .run, "When > 0, the number of optimizer steps to run, overriding num_train_epochs."),
        .init(
            "per_device_train_batch_size", \.perDeviceTrainBatchSize, .run,
            "Examples per rank in each training micro-batch; memory and time per step grow with it."),
        .init(
            "per_device_eval_batch_size", \.perDeviceEvalBatchSize, .run,
            "Examples per rank in each evaluation batch; no activations are kept, so it can be larger."),
        .init(
            "gradient_accumulation_steps", \.gradientAccumulationSteps, .run,
            "Micro-batches whose gradients are summed before each optimizer step (effective batch = this x batch x ranks)."),
        .init("learning_rate", \.learningRate, .run, "Peak AdamW step size, reached after warmup and then shaped by lr_scheduler_type."),
        .init(
            "weight_decay", \.weightDecay, .run, "Decoupled AdamW weight decay, applied to weights but not to biases or LayerNorm (as HF's Trainer)."),
        .init("adam_beta1", \.adamBeta1, .run, "AdamW decay rate of the running mean of gradients."),
        .init("adam_beta2", \.adamBeta2, .run, "AdamW decay rate of the running mean of squared gradients."),
        .init("adam_epsilon", \.adamEpsilon, .run, "Added to the root of the second moment so a tiny moment cannot blow up the step."),
        .init("max_grad_norm", \.maxGradNorm, .run, "The global gradient L2 norm is clipped to this before each step; 0 turns clipping off."),
        .init("lr_scheduler_type", \.lrSchedulerType, .run, "Shape of the learning rate after warmup: linear or cosine decay to 0, or constant."),
        .init(
            "warmup_ratio", \.warmupRatio, .run,
            "Fraction of all optimizer steps spent ramping the learning rate up from 0 (used when warmup_steps is 0)."),
        .init("warmup_steps", \.warmupSteps, .run, "Optimizer steps spent ramping the learning rate up from 0; when > 0 it overrides warmup_ratio."),
        .init("eval_strategy", \.evalStrategy, .run, "When to evaluate on the validation set: never (no), every eval_steps (steps), or every epoch."),
        .init(
            "eval_steps", \.evalSteps, .run, "Optimizer steps between evaluations under eval_strategy steps; null follows logging_steps, as in HF."),
        .init("logging_steps", \.loggingSteps, .run, "Optimizer steps between training-loss log lines; 0 turns step logging off."),
        .init(
            "report_to", \.reportTo, .run,
            "Where logged metrics also go: tensorboard (or all) writes event files under output_dir/runs/ with HF's tag names; none."),
        .init(
            "trace", \.trace, .run,
            "Chrome trace (Perfetto) per rank: per-layer forward/backward, loss, optimizer, data, all-reduce buckets, eval, checkpoints."),
        .init(
            "trace_file", \.traceFile, .run, "The timeline's file (also --trace FILE); null means output_dir/trace.json. Setting it turns trace on."),
        .init(
            "save_strategy", \.saveStrategy, .run, "When to write a checkpoint: never (no), every save_steps (steps), every epoch, or on a new best."),
        .init("save_steps", \.saveSteps, .run, "Optimizer steps between checkpoints under save_strategy steps."),
        .init(
            "save_total_limit", \.saveTotalLimit, .run,
            "Most checkpoints kept in output_dir, oldest deleted first but never the best; null keeps all."),
        .init(
            "resume_from_checkpoint", \.resumeFromCheckpoint, .run,
            "Continue from a checkpoint: latest (the newest complete one in output_dir) or its directory; also --resume-from."),
        .init(
            "load_best_model_at_end", \.loadBestModelAtEnd, .run,
            "Reload the best checkpoint (by metric_for_best_model) at the end instead of keeping the last weights."),
        .init(
            "metric_for_best_model", \.metricForBestModel, .run,
            "The evaluation metric that picks the best checkpoint (loss, accuracy, f1_macro, ...; eval_ prefix optional, as in HF); null means loss."),
        .init(
            "greater_is_better", \.greaterIsBetter, .run,
            "Whether a larger metric_for_best_model is better; null means false for names ending in loss, else true."),
        .init(
            "early_stopping_patience", \.earlyStoppingPatience, .run,
            "Stop after this many evaluations in a row without improving metric_for_best_model; null never stops early."),
        .init(
            "early_stopping_threshold", \.earlyStoppingThreshold, .run,
            "How much metric_for_best_model must improve to count as an improvement for early stopping."),
        .init(
            "dataloader_drop_last", \.dataloaderDropLast, .run,
            "Drop the last incomplete training batch of each epoch so every step sees a full batch."),
        .init(
            "max_length", \.maxLength, .run, "Tokens per example after truncation, [CLS] and [SEP] included; attention cost grows with its square."),
        .init("group_by_length", \.groupByLength, .run, "Batch examples of similar length together so less padding is computed."),
        .init("ddp_timeout", \.ddpTimeout, .run, "Seconds a rank waits for another in a collective before the job stops naming it (HF's default)."),
        .init(
            "ddp_bf16_compression", \.ddpBF16Compression, .run,
            "Send gradients as bfloat16 in the all-reduce (half the bytes; accumulation stays float32)."),
        .init(
            "ddp_allreduce_algorithm", \.ddpAllreduceAlgorithm, .run,
            "The gradient all-reduce: auto (per bucket, from the cost model), ring, halving_doubling, hierarchical or mpi."),
        .init(
            "ddp_cost_model", \.ddpCostModel, .run,
            "A cost model written by `fttrain dist-bench --output` for `auto` to choose by; null uses built-in figures."),
        .init(
            "bf16", \.bf16, .run,
            "Mixed precision as torch.autocast: matrix products take bfloat16 inputs and accumulate in float32; weights, optimizer, norms, softmax and loss stay float32."
        ),
        .init(
            "save_dtype", \.saveDtype, .run,
            "The element type of saved model weights (checkpoints keep float32): float32, bfloat16 (half the size) or float16."),
        .init(
            "ddp_overlap_allreduce", \.ddpOverlapAllreduce, .run,
            "Overlap the gradient all-reduce with backward: each bucket is averaged as soon as backward has finished it."),
        .init(
            "ddp_bucket_cap_mb", \.ddpBucketCapMB, .run,
            "MiB of gradients per all-reduce bucket (PyTorch DDP's bucket_cap_mb; the first bucket is 1 MiB)."),
        .init(
            "ddp_parameter_check_steps", \.ddpParameterCheckSteps, .run,
            "Every this many steps the ranks compare a checksum of their parameters and stop if one diverged (0: never)."),
        .init(
            "ddp_sparse_embeddings", \.ddpSparseEmbeddings, .run,
            "Average only the word-embedding rows some rank's batch used: the same result, without sending the untouched rows."),
        // Data
        .init("train_file", \.trainFile, .data, "Labelled training data: CSV, TSV or JSON Lines (required)."),
        .init(
            "validation_file", \.validationFile, .data,
            "Labelled data for evaluation and best-model selection; with test_file null too, train_file is split."),
        .init("test_file", \.testFile, .data, "Labelled data scored once after training; with validation_file null too, train_file is split."),
        .init(
            "split_ratios", \.splitRatios, .data,
            "Train/validation/test fractions of the stratified split of train_file made when no other file is given."),
        .init("text_column", \.textColumn, .data, "Column holding the text to classify."),
        .init("text_pair_column", \.textPairColumn, .data, "Column holding a second text, encoded as a pair with the first; null for single texts."),
        .init("label_column", \.labelColumn, .data, "Column holding the class label."),
        .init("data_format", \.dataFormat, .data, "Layout of the data files (csv, tsv, jsonl); null picks it from each file's extension."),
        .init("strip_html", \.stripHTML, .data, "Remove HTML tags and decode HTML entities in texts, for scraped data."),
        .init(
            "collapse_whitespace", \.collapseWhitespace, .data,
            "Turn runs of whitespace and line breaks into one space and trim, so layout does not change tokens."),
        .init("drop_symbols", \.dropSymbols, .data, "Remove characters that are neither letters, digits, punctuation nor spaces (emoji, symbols)."),
        .init("deduplicate", \.deduplicate, .data, "Drop rows whose text repeats an earlier row's, so no text is both trained and evaluated on."),
        .init(
            "skip_bad_rows", \.skipBadRows, .data,
            "Skip malformed rows (missing column, empty text or label) with a count in the log instead of failing."),
        .init(
            "class_weights", \.classWeights, .data,
            "Per-class loss weights against imbalance: balanced, a list in class order, or label -> weight; null = equal."),
        .init(
            "oversample", \.oversample, .data, "Repeat examples of smaller classes within each epoch until every class is as frequent as the largest."
        ),
        .init(
            "augment", \.augment, .data,
            "EDA copies of each training example (never validation or test): {copies, synonym_replacement, random_insertion, random_swap, random_deletion, synonyms, unit, words, seed}; null: none."
        ),
        // Task and causal language modelling
        .init(
            "task", \.task, .data,
            "What is trained: sequence_classification, token_classification or causal_lm; null picks by the model (causal_lm for decoder models)."),
        .init(
            "prompt_template", \.promptTemplate, .data,
            "Turns a labelled file's row into a prompt: {text}, {text_pair} and {label} are filled in (causal_lm)."),
        .init(
            "completion_template", \.completionTemplate, .data,
            "Turns a labelled file's row into the completion the model learns (causal_lm with prompt_template)."),
        .init(
            "chat_template", \.chatTemplate, .data,
            "Wrap templated prompts and completions in the model's chat template as a user and an assistant turn."),
        .init(
            "completion_only_loss", \.completionOnlyLoss, .data,
            "With prompt/completion data, take the loss on the completion only (TRL's completion_only_loss)."),
        .init(
            "assistant_only_loss", \.assistantOnlyLoss, .data,
            "With messages data, take the loss on the assistant turns only (TRL's assistant_only_loss; TRL defaults to false)."),
        .init(
            "problem_type", \.problemType, .data,
            "Sequence classification: single_label_classification, multi_label_classification or regression (HF's problem_type); null infers it from the labels (a list: multi-label; floats: regression)."
        ),
        .init(
            "label_separator", \.labelSeparator, .data,
            "Multi-label: the text between label names in a CSV/TSV cell (e.g. |); null: a cell is one name (JSONL label arrays need none)."),
        .init("threshold", \.threshold, .data, "Multi-label: a label is predicted when its sigmoid probability is at least this (0.5 by default)."),
        .init(
            "thresholds", \.thresholds, .data,
            "Multi-label: per-label thresholds, one number for all or label -> number (labels not named keep threshold); written to the model's thresholds.json."
        ),
        .init(
            "tune_thresholds", \.tuneThresholds, .data,
            "Multi-label: after training, set each label's threshold to the one maximising its F1 on the validation split (precision_recall_curve)."
        ),
        .init(
            "label_columns", \.labelColumns, .data,
            "Regression with several outputs: the CSV/TSV columns or JSONL keys holding one number each (instead of label_column)."),
        .init("tag_scheme", \.tagScheme, .data, "Token classification: the tags' scheme, checked on every tag (BIO or BIOES)."),
        .init(
            "label_all_tokens", \.labelAllTokens, .data,
            "Token classification: label every sub-token of a word (B- becoming I- after the first), not the first only (run_ner's label_all_tokens)."
        ),
        .init(
            "add_tokens", \.addTokens, .data,
            "Encoders: tokens added to the vocabulary (a list, or a file with one per line), matched before WordPiece; new embedding rows start at the mean of the old ones."
        ),
        .init("doc_stride", \.docStride, .data, "Question answering: tokens shared by consecutive windows of a long context (run_qa's doc_stride)."),
        .init(
            "n_best_size", \.nBestSize, .data,
            "Question answering: start and end logits paired per window when decoding answers (run_qa's n_best_size)."),
        .init("max_answer_length", \.maxAnswerLength, .data, "Question answering: the longest answer in tokens (run_qa's max_answer_length)."),
        .init(
            "version_2_with_negative", \.versionTwoWithNegative, .data,
            "Question answering: SQuAD v2, some questions have no answer (the null span competes)."),
        .init(
            "null_score_diff_threshold", \.nullScoreDiffThreshold, .data,
            "Question answering, SQuAD v2: predict no answer when null score − best span score exceeds this."),
        .init(
            "packing", \.packing, .data,
            "Concatenate training examples into rows of max_length tokens, so no padding is computed (TRL's packing)."),
        .init(
            "predict_with_generate", \.predictWithGenerate, .data,
            "Evaluate by generating each example's completion greedily and scoring it against the expected one."),
        .init(
            "generation_max_new_tokens", \.generationMaxNewTokens, .data,
            "Tokens generated per evaluation example at most under predict_with_generate."),
        // Model
        .init(
            "hidden_dropout_prob", \.hiddenDropoutProb, .model,
            "Dropout on embeddings and on the output of every attention and feed-forward block; null keeps the model's."),
        .init("attention_probs_dropout_prob", \.attentionProbsDropoutProb, .model, "Dropout on the attention probabilities; null keeps the model's."),
        .init(
            "classifier_dropout", \.classifierDropout, .model,
            "Dropout before the classification head; null falls back to hidden_dropout_prob, as in HF."),
        // PEFT
        .init(
            "peft", \.peft, .peft,
            "What is trained: none (every parameter not frozen below), lora (low-rank branches, the head, lora_bias biases) or adapter (bottleneck adapters and the head)."
        ),
        .init("lora_r", \.loraR, .peft, "Rank r of each LoRA update B·A; trainable parameters grow linearly with it."),
        .init("lora_alpha", \.loraAlpha, .peft, "LoRA scaling numerator: updates are scaled by lora_alpha / r (or / sqrt(r) with use_rslora)."),
        .init("lora_dropout", \.loraDropout, .peft, "Dropout on the input of each LoRA branch during training."),
        .init(
            "lora_target_modules", \.loraTargetModules, .peft,
            "Modules that get LoRA branches, by PEFT's suffix match: query, key, value, attention.output.dense, intermediate.dense, output.dense."),
        .init("lora_bias", \.loraBias, .peft, "Biases trained with LoRA (PEFT's bias): none, all, or lora_only (those of the targeted modules)."),
        .init(
            "modules_to_save", \.modulesToSave, .peft,
            "Modules trained fully and saved with the adapter; null means the classification head (classifier)."),
        .init("use_rslora", \.useRSLoRA, .peft, "Scale LoRA updates by lora_alpha / sqrt(r) (rank-stabilised LoRA) instead of lora_alpha / r."),
        .init("freeze_embeddings", \.freezeEmbeddings, .peft, "Do not train the embeddings (word, position, token type and their LayerNorm)."),
        .init("freeze_layers", \.freezeLayers, .peft, "Encoder layers not trained, e.g. 0-3 or 0,2; frozen bottom layers are skipped in backward."),
        .init(
            "adapter_reduction_factor", \.adapterReductionFactor, .peft,
            "With peft adapter: hidden size / bottleneck width of each adapter (16: 384 -> 24 for MiniLM)."),
    ]
}

/// A coding key for any setting name (the table, not an enum, lists the settings).
struct ConfigurationCodingKey: CodingKey, Hashable {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

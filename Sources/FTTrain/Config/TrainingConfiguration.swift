import FTModel

/// Every setting of a fine-tuning run, in one place, each with a one-line reason.
///
/// Keys in files and flags are snake_case and mirror Hugging Face `TrainingArguments` where HF has
/// the setting, with HF's default; data settings are fttrain's own; the model keys override the
/// pretrained model's `config.json`, as HF's `from_pretrained(..., hidden_dropout_prob=...)` does.
/// `ConfigurationKey.all` lists the keys with their help; `load(path:)` reads a YAML or JSON file,
/// `applyOverrides(_:)` applies command-line flags on top, and `validate()` rejects impossible values.
/// `TrainingConfiguration()` holds the defaults.
public struct TrainingConfiguration: Sendable, Equatable {
    // MARK: - Run (Hugging Face TrainingArguments)

    /// Where checkpoints, the final model, metrics and the run log are written.
    public var outputDir: String? = nil
    /// The pretrained Hugging Face model directory to fine-tune (config.json, vocab.txt, model.safetensors).
    public var modelDir: String? = nil
    /// Seeds the head's initialisation, shuffling, dropout and the data split, so a run can be repeated exactly.
    public var seed: Int = 42
    /// Passes over the training set; a fraction stops part-way through the last epoch.
    public var numTrainEpochs: Double = 3.0
    /// When > 0, the number of optimizer steps to run, overriding num_train_epochs.
    public var maxSteps: Int = -1
    /// Examples per rank in each training micro-batch; memory and time per step grow with it.
    public var perDeviceTrainBatchSize: Int = 8
    /// Examples per rank in each evaluation batch; no activations are kept, so it can be larger.
    public var perDeviceEvalBatchSize: Int = 8
    /// Micro-batches whose gradients are summed before each optimizer step (effective batch = this × batch × ranks).
    public var gradientAccumulationSteps: Int = 1
    /// Peak AdamW step size, reached after warmup and then shaped by lr_scheduler_type.
    public var learningRate: Double = 5e-5
    /// Decoupled AdamW weight decay, applied to weights but not to biases or LayerNorm (as HF's Trainer).
    public var weightDecay: Double = 0.0
    /// AdamW decay rate of the running mean of gradients.
    public var adamBeta1: Double = 0.9
    /// AdamW decay rate of the running mean of squared gradients.
    public var adamBeta2: Double = 0.999
    /// Added to the root of the second moment so a tiny moment cannot blow up the step.
    public var adamEpsilon: Double = 1e-8
    /// The global gradient L2 norm is clipped to this before each step; 0 turns clipping off.
    public var maxGradNorm: Double = 1.0
    /// Shape of the learning rate after warmup: linear or cosine decay to 0, or constant.
    public var lrSchedulerType: SchedulerType = .linear
    /// Fraction of all optimizer steps spent ramping the learning rate up from 0 (used when warmup_steps is 0).
    public var warmupRatio: Double = 0.0
    /// Optimizer steps spent ramping the learning rate up from 0; when > 0 it overrides warmup_ratio.
    public var warmupSteps: Int = 0
    /// When to evaluate on the validation set: never (no), every eval_steps (steps), or every epoch.
    public var evalStrategy: IntervalStrategy = .no
    /// Optimizer steps between evaluations under eval_strategy steps; null follows logging_steps, as in HF.
    public var evalSteps: Int? = nil
    /// Optimizer steps between training-loss log lines; 0 turns step logging off.
    public var loggingSteps: Int = 500
    /// Where metrics also go: `tensorboard` (or `all`) writes event files under `output_dir/runs/`; `none`.
    public var reportTo: ReportTo = .none
    /// Write a Chrome trace (a track per rank: step phases, all-reduce buckets, evaluation, checkpoints).
    public var trace: Bool = false
    /// Where the trace goes; null: `output_dir/trace.json`. Setting it turns `trace` on.
    public var traceFile: String? = nil
    /// When to write a checkpoint: never (no), every save_steps (steps), every epoch, or on a new best.
    public var saveStrategy: SaveStrategy = .steps
    /// Optimizer steps between checkpoints under save_strategy steps.
    public var saveSteps: Int = 500
    /// Most checkpoints kept in output_dir, oldest deleted first but never the best; null keeps all.
    public var saveTotalLimit: Int? = nil
    /// Continue from a checkpoint: `latest` (the newest complete one in output_dir) or its directory.
    public var resumeFromCheckpoint: String? = nil
    /// Reload the best checkpoint (by metric_for_best_model) at the end instead of keeping the last weights.
    public var loadBestModelAtEnd: Bool = false
    /// The evaluation metric that picks the best checkpoint (loss, accuracy, f1_macro, ...; eval_ prefix optional, as in HF); null means loss.
    public var metricForBestModel: String? = nil
    /// Whether a larger metric_for_best_model is better; null means false for names ending in loss, else true.
    public var greaterIsBetter: Bool? = nil
    /// Stop after this many evaluations in a row without improving metric_for_best_model; null never stops early.
    public var earlyStoppingPatience: Int? = nil
    /// How much metric_for_best_model must improve to count as an improvement for early stopping.
    public var earlyStoppingThreshold: Double = 0.0
    /// Drop the last incomplete training batch of each epoch so every step sees a full batch.
    public var dataloaderDropLast: Bool = false
    /// Tokens per example after truncation, [CLS] and [SEP] included; attention cost grows with its square.
    public var maxLength: Int = 128
    /// Batch examples of similar length together so less padding is computed.
    public var groupByLength: Bool = false
    /// Seconds a rank waits for another in a collective before the job stops naming it (HF's default).
    public var ddpTimeout: Int = 1800
    /// Send gradients as bfloat16 in the all-reduce (half the bytes; accumulation stays float32).
    public var ddpBF16Compression: Bool = false
    /// The gradient all-reduce: auto (per bucket, from the cost model), ring, halving_doubling, hierarchical or mpi.
    public var ddpAllreduceAlgorithm: DDPAllReduceAlgorithm = .auto
    /// A cost model written by `fttrain dist-bench --output` for `auto` to choose by; null uses built-in figures.
    public var ddpCostModel: String? = nil
    /// Mixed precision as torch.autocast: matrix products take bfloat16 inputs and accumulate in float32; weights, optimizer, norms, softmax and loss stay float32.
    public var bf16: Bool = false
    /// The element type of saved model weights (checkpoints keep float32): float32, bfloat16 (half the size) or float16.
    public var saveDtype: SaveDType = .float32
    /// Overlap the gradient all-reduce with backward: each bucket is averaged as soon as backward has finished it.
    public var ddpOverlapAllreduce: Bool = true
    /// MiB of gradients per all-reduce bucket (PyTorch DDP's bucket_cap_mb; the first bucket is 1 MiB).
    public var ddpBucketCapMB: Double = 25
    /// Every this many steps the ranks compare a checksum of their parameters and stop if one diverged (0: never).
    public var ddpParameterCheckSteps: Int = 0
    /// Average only the word-embedding rows some rank's batch used: the same result, without sending the untouched rows.
    public var ddpSparseEmbeddings: Bool = true

    // MARK: - Data (fttrain's own)

    /// Labelled training data: CSV, TSV or JSON Lines.
    public var trainFile: String? = nil
    /// Labelled data for evaluation and best-model selection; with test_file null too, train_file is split.
    public var validationFile: String? = nil
    /// Labelled data scored once after training; with validation_file null too, train_file is split.
    public var testFile: String? = nil
    /// Train/validation/test fractions of the stratified split of train_file made when no other file is given.
    public var splitRatios: [Double] = [0.8, 0.1, 0.1]
    /// Column holding the text to classify.
    public var textColumn: String = "text"
    /// Column holding a second text, encoded as a pair with the first; null for single texts.
    public var textPairColumn: String? = nil
    /// Column holding the class label.
    public var labelColumn: String = "label"
    /// Layout of the data files (csv, tsv, jsonl); null picks it from each file's extension.
    public var dataFormat: DataFormat? = nil
    /// Remove HTML tags and decode HTML entities in texts, for scraped data.
    public var stripHTML: Bool = false
    /// Turn runs of whitespace and line breaks into one space and trim, so layout does not change tokens.
    public var collapseWhitespace: Bool = true
    /// Remove characters that are neither letters, digits, punctuation nor spaces (emoji, symbols).
    public var dropSymbols: Bool = false
    /// Drop rows whose text repeats an earlier row's, so no text is both trained and evaluated on.
    public var deduplicate: Bool = true
    /// Skip malformed rows (missing column, empty text or label) with a count in the log instead of failing.
    public var skipBadRows: Bool = false
    /// Per-class loss weights against imbalance: balanced, a list in class order, or label → weight; null = equal.
    public var classWeights: ClassWeights? = nil
    /// Repeat examples of smaller classes within each epoch until every class is as frequent as the largest.
    public var oversample: Bool = false
    /// EDA copies of the training split's examples (synonym replacement, insertion, swap, deletion), made after the split; null: none.
    public var augment: AugmentSettings? = nil

    // MARK: - Task and causal language modelling (TRL's SFTConfig names)

    /// What is trained: sequence_classification, token_classification or causal_lm; null picks by the model (causal_lm for decoder models).
    public var task: TaskType? = nil
    /// Turns a labelled file's row into a prompt: `{text}`, `{text_pair}` and `{label}` are filled in (causal_lm).
    public var promptTemplate: String? = nil
    /// Turns a labelled file's row into the completion the model learns (causal_lm with prompt_template).
    public var completionTemplate: String = "{label}"
    /// Wrap templated prompts and completions in the model's chat template as a user and an assistant turn.
    public var chatTemplate: Bool = false
    /// With prompt/completion data, take the loss on the completion only (TRL's completion_only_loss).
    public var completionOnlyLoss: Bool = true
    /// With messages data, take the loss on the assistant turns only (TRL's assistant_only_loss; TRL defaults to false).
    public var assistantOnlyLoss: Bool = true
    /// Concatenate training examples into rows of max_length tokens, so no padding is computed (TRL's packing).
    public var packing: Bool = false
    /// Evaluate by generating each example's completion greedily and scoring it against the expected one.
    public var predictWithGenerate: Bool = false
    /// Tokens generated per evaluation example at most under predict_with_generate.
    public var generationMaxNewTokens: Int = 32
    /// Sequence classification: single_label_classification, multi_label_classification or regression (HF's problem_type); null infers it from the labels.
    public var problemType: ProblemType? = nil
    /// Multi-label: the text between label names in a CSV/TSV cell (`a|b`); null: a cell is one name (JSONL arrays need none).
    public var labelSeparator: String? = nil
    /// Multi-label: a label is predicted when its sigmoid probability is at least this.
    public var threshold: Double = 0.5
    /// Multi-label: per-label thresholds, a number for all or label -> number (others keep `threshold`).
    public var thresholds: LabelThresholdSetting? = nil
    /// Multi-label: after training, pick each label's threshold on the validation split to maximise its F1.
    public var tuneThresholds: Bool = false
    /// Regression with several outputs: the columns (JSONL keys) holding one number each, in output order.
    public var labelColumns: ColumnNameList? = nil
    /// Token classification: the tags' scheme, checked on every tag (BIO or BIOES).
    public var tagScheme: TagScheme = .bio
    /// Token classification: label every sub-token of a word (B- becoming I- after the first), not the first only (run_ner's label_all_tokens).
    public var labelAllTokens: Bool = false
    /// Encoders: tokens added to the vocabulary (`tokenizer.add_tokens` + `resize_token_embeddings`).
    public var addTokens: AddedTokenSetting? = nil
    /// Question answering: tokens shared by consecutive windows of a long context (run_qa's doc_stride).
    public var docStride: Int = 128
    /// Question answering: start and end logits paired per window when decoding answers (run_qa's n_best_size).
    public var nBestSize: Int = 20
    /// Question answering: the longest answer in tokens (run_qa's max_answer_length).
    public var maxAnswerLength: Int = 30
    /// Question answering: SQuAD v2, some questions have no answer (the null span competes).
    public var versionTwoWithNegative: Bool = false
    /// Question answering, SQuAD v2: predict no answer when null score − best span score exceeds this.
    public var nullScoreDiffThreshold: Double = 0

    // MARK: - Model (Hugging Face config.json keys; null keeps the model's own value)

    /// Dropout on embeddings and on the output of every attention and feed-forward block.
    public var hiddenDropoutProb: Double? = nil
    /// Dropout on the attention probabilities.
    public var attentionProbsDropoutProb: Double? = nil
    /// Dropout before the classification head; null falls back to hidden_dropout_prob, as in HF.
    public var classifierDropout: Double? = nil

    // MARK: - PEFT (PEFT's LoraConfig names) and freezing

    /// What is trained: none (every parameter not frozen below), lora, or bottleneck adapters.
    public var peft: PEFTMethod = .none
    /// Rank r of each LoRA update B·A.
    public var loraR: Int = 8
    /// LoRA scaling numerator: updates are scaled by lora_alpha / r (or / √r with use_rslora).
    public var loraAlpha: Double = 8
    /// Dropout on the input of each LoRA branch during training.
    public var loraDropout: Double = 0
    /// Modules that get LoRA branches (PEFT's default for BERT: query and value).
    public var loraTargetModules: ModuleNameList = ["query", "value"]
    /// Biases trained with LoRA (PEFT's `bias`).
    public var loraBias: LoRABias = .none
    /// Modules trained fully and saved with the adapter; nil means the classification head.
    public var modulesToSave: ModuleNameList? = nil
    /// Scale LoRA updates by lora_alpha / √r.
    public var useRSLoRA: Bool = false
    /// Do not train the embeddings.
    public var freezeEmbeddings: Bool = false
    /// Encoder layers not trained: `0-3`, `0,2`.
    public var freezeLayers: String? = nil
    /// Hidden size ÷ bottleneck width of `peft: adapter` (16 as in Pfeiffer's configuration).
    public var adapterReductionFactor: Int = 16

    /// The defaults: Hugging Face's where HF has the setting.
    public init() {}
}

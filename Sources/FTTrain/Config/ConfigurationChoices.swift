import FTCore

/// The closed sets of strings some configuration keys accept. Raw values are the exact strings
/// Hugging Face `TrainingArguments` uses, so a config written for HF reads the same here.

/// How the learning rate moves after warmup (HF `SchedulerType`, the subset fttrain implements).
public enum SchedulerType: String, CaseIterable, Codable, Sendable {
    /// Linear decay from the peak to 0 at the last step.
    case linear
    /// Half-cosine decay from the peak to 0 at the last step.
    case cosine
    /// The peak rate throughout; warmup is ignored (as in HF), so it is rejected if set.
    case constant
    /// Linear warmup, then the peak rate.
    case constantWithWarmup = "constant_with_warmup"
}

/// When something happens during training (HF `IntervalStrategy`).
public enum IntervalStrategy: String, CaseIterable, Codable, Sendable {
    /// Never.
    case no
    /// Every `eval_steps` (or `save_steps`) optimizer steps.
    case steps
    /// At the end of every epoch.
    case epoch
}

/// Where logged metrics also go besides `log.jsonl` (HF `report_to`).
public enum ReportTo: String, CaseIterable, Codable, Sendable {
    /// Nowhere else.
    case none
    /// TensorBoard event files under `output_dir/runs/` (HF's tag names: `train/loss`, `eval/accuracy`, ...).
    case tensorboard
    /// Every integration fttrain has: TensorBoard.
    case all
}

/// When checkpoints are written (HF `SaveStrategy`).
public enum SaveStrategy: String, CaseIterable, Codable, Sendable {
    /// Never (the final model is still written).
    case no
    /// Every `save_steps` optimizer steps.
    case steps
    /// At the end of every epoch.
    case epoch
    /// After each evaluation that improves `metric_for_best_model`.
    case best
}

/// The element type `model.safetensors` is written in (torch dtype names).
public enum SaveDType: String, CaseIterable, Codable, Sendable {
    /// 4 bytes a weight, exactly the trained values.
    case float32
    /// 2 bytes a weight, rounded to nearest bfloat16 (float32's range, 8 significant bits).
    case bfloat16
    /// 2 bytes a weight, rounded to nearest IEEE half (11 significant bits, |x| ≤ 65504).
    case float16

    /// The safetensors element type.
    public var safeTensorsDType: SafeTensorsDType {
        switch self {
        case .float32: .F32
        case .bfloat16: .BF16
        case .float16: .F16
        }
    }
}

/// The gradient all-reduce (`ddp_allreduce_algorithm`); FTDist's `AllReduceAlgorithm` by raw value.
public enum DDPAllReduceAlgorithm: String, CaseIterable, Codable, Sendable {
    /// Per bucket, the algorithm the cost model predicts fastest for its size and the node layout.
    case auto
    /// One flat ring over all ranks (bandwidth-optimal; 2(n − 1) latencies).
    case ring
    /// Rabenseifner's recursive halving and doubling (2 log₂ n latencies).
    case halvingDoubling = "halving_doubling"
    /// Inside each node, then across nodes per shard, then inside each node again.
    case hierarchical
    /// `MPI_Allreduce`, Open MPI's choice.
    case mpi
}

// DataFormat (csv, tsv, jsonl) is defined with the readers in Data/DataFormat.swift.

/// What a run trains (`task`).
public enum TaskType: String, CaseIterable, Codable, Sendable {
    /// A classifier head over the pooled sequence (encoders).
    case sequenceClassification = "sequence_classification"
    /// Next-token prediction, supervised fine-tuning (decoder models).
    case causalLM = "causal_lm"
    /// A label per token (named-entity recognition): a classifier over every token's hidden state (encoders).
    case tokenClassification = "token_classification"
    /// Extractive question answering (SQuAD): start and end logits over every token (encoders).
    case questionAnswering = "question_answering"
}

import FTCore

/// The model interface: what the trainer, evaluation, checkpoints and resume, the data-parallel
/// gradient path, LoRA/adapters/freezing, federated rounds, `predict`, `embed` and `bench` are
/// written against, whatever the architecture (`ModelRegistry` loads one from a model directory).
///
/// Contract (llm.c's explicit passes): `forward(training: true)` keeps what `backward` needs;
/// `backward` *accumulates* into `store.gradients` (zeroing is the caller's) and reports, through
/// `gradientsReady`, the gradient-buffer offset from which on every gradient is final, as it moves
/// from the head down (data-parallel averaging starts there). Frozen tensors have no gradient
/// storage, so the all-reduce, clipping and AdamW see the trainable part only.
public protocol SequenceModel: AnyObject, Sendable {
    /// Every parameter in one buffer, the trainable ones' gradients in another.
    var store: ParameterStore { get }
    /// Classes of the sequence-classification head, or 0 for a bare model.
    var numLabels: Int { get }
    /// The parameter-efficient modules the model was built with.
    var peft: PEFTModules? { get }
    /// How store names map onto Hugging Face's checkpoint and module names, layers and embeddings.
    var tensorNames: any ModelTensorNaming { get }
    /// Hugging Face's class of the model with its head (`BertForSequenceClassification`).
    var architectureName: String { get }
    /// PEFT's `task_type` of the model's adapters (`SEQ_CLS`, `CAUSAL_LM`).
    var peftTaskType: String { get }
    /// Number of transformer layers (`freeze_layers` indices run below it).
    var layerCount: Int { get }
    /// Width of a hidden state (C).
    var hiddenSize: Int { get }
    /// Rows of the word-embedding table: every token id must be below it.
    var vocabularySize: Int { get }
    /// The longest sequence the positions allow.
    var maxSequenceLength: Int { get }
    /// Whether `forward(firstTokenOnly: true)` saves work for this model and its adapters.
    var computesFirstTokensOnly: Bool { get }
    /// Trainable and total parameters, counted as PEFT counts them.
    var trainableParameterCount: TrainableParameterCount { get }

    /// One pass over a batch (B, T) of ids, token types and attention mask (1 = attend); the
    /// returned pointers stay valid until the next call. `firstTokenOnly`: only the head's outputs
    /// are read (the model may skip rows nothing reads).
    func forward(
        inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>, attentionMask: UnsafePointer<Int32>,
        batch: Int, sequence: Int, training: Bool, dropoutSeed: UInt64, firstTokenOnly: Bool
    ) throws -> ModelOutputs
    /// Backward of the last training forward from the gradients of its outputs (nil: zero).
    func backward(
        dLogits: UnsafePointer<Float>?, dPooled: UnsafePointer<Float>?, dLastHiddenState: UnsafePointer<Float>?,
        gradientsReady: ((Int) -> Void)?)
    /// Keeps gradient storage for the tensors `isTrainable` accepts (store names) only.
    func setTrainable(_ isTrainable: (String) -> Bool)
    /// Hugging Face's initialisation of the named tensors (all when nil).
    func initializeRandomly(rng: inout SeededRNG, standardDeviation: Float, only: Set<String>?)
    /// `config.json` of the fine-tuned model: `base` (the base model's keys) with the head's
    /// labels, the architecture and the settings the run changed.
    func exportConfig(base: [String: Any], labels: [String]) -> [String: Any]
    /// Matrix-product FLOPs over a batch (B, T): with `firstTokenOnly`, of what fttrain runs when
    /// only the head's outputs are read; without, of every row (PyTorch's work).
    func flops(batch: Int, sequence: Int, firstTokenOnly: Bool) -> ModelFLOPs
}

/// Output pointers of a `forward`, valid until the next call.
public struct ModelOutputs {
    /// (B, T, C); after a first-token-only forward, only each sequence's first row is set.
    public let lastHiddenState: UnsafePointer<Float>
    /// (B, C) the pooler's output, when the model has a pooler.
    public let pooled: UnsafePointer<Float>?
    /// (B, L), only when the model has a head.
    public let logits: UnsafePointer<Float>?
}

extension SequenceModel {
    /// Sequence classification, unless the model says otherwise.
    public var peftTaskType: String { "SEQ_CLS" }

    /// The names of the base model's tensors, adapters excluded.
    public var baseTensorNames: [String] { store.views.map(\.name).filter { !PEFTModules.isAdapterTensor($0) } }
}

/// Matrix-product FLOPs (1 multiply-add = 2 FLOP) of one pass, counted as the PyTorch anchor's
/// `analytic_flops` counts them, so GFLOP/s figures compare directly.
public struct ModelFLOPs: Sendable, Equatable {
    /// A forward pass.
    public var forward: Double
    /// A training step: forward, input gradients and the trainable products' weight gradients.
    public var trainingStep: Double

    public init(forward: Double, trainingStep: Double) {
        self.forward = forward
        self.trainingStep = trainingStep
    }
}

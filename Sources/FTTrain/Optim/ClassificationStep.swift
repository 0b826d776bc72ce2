import FTCore
import FTModel

/// How the losses of the micro-batches of one optimizer step enter the accumulated gradient.
public enum GradientAccumulationScaling: Sendable, Equatable {
    /// Each micro-batch's mean loss is back-propagated as it is, so the accumulated gradient is
    /// `Σₖ ∇ meanₖ` — K times the gradient of the mean over the K micro-batches.
    ///
    /// This is what Hugging Face's `Trainer` does for `BertForSequenceClassification` in
    /// transformers 5.x (checked with 5.24 by `scripts/reference/make_training_reference.py`):
    /// the model's `forward` takes `**kwargs`, so `model_accepts_loss_kwargs` is true, the Trainer
    /// passes `num_items_in_batch` and skips its own `loss / gradient_accumulation_steps` —
    /// expecting the model to normalise over the whole accumulated batch, which BERT's
    /// classification head (a plain `CrossEntropyLoss()` mean over the micro-batch) does not.
    /// Its logged `loss` is likewise the sum of the micro-batch means.
    case sumOfMicroBatchMeans
    /// Each micro-batch's mean loss is divided by K, the number of micro-batches of the step:
    /// with equal-size micro-batches the accumulated gradient is that of the mean over all
    /// their examples (transformers 4.x before 4.46, and the Trainer for models whose `forward`
    /// takes no `**kwargs`).
    case meanOfMicroBatchMeans
    /// Each micro-batch's mean loss is weighted by its share of the step's loss denominators
    /// (`TaskObjective.reductionCount`: target tokens for causal LM), so the accumulated gradient
    /// and the logged loss are those of the mean over every target of the step, however the
    /// targets fall into micro-batches. This is Hugging Face's Trainer for causal LMs, whose
    /// `forward` takes `num_items_in_batch` (the step's target count) and divides the summed loss
    /// by it. On several ranks, with `ClassificationStep.averageAcrossRanks` set, the denominator
    /// is the mean of the ranks' counts, so the averaged gradient is that of the mean over every
    /// target of every rank (HF's `average_tokens_across_devices`).
    case tokenWeightedMean
}

/// One optimizer step over a model with a head, Hugging Face `Trainer`-style: zero gradients; per
/// micro-batch `forward(training: true)`, the task's loss (`TaskObjective`: softmax cross-entropy,
/// optionally class-weighted, for sequence classification), `backward`; then clip by global norm,
/// AdamW at the scheduled learning rate, and advance the schedule (its position is `optimizer.stepCount`).
///
/// Allocation: the only buffer it owns, `dLogits` (the head's outputs' gradient), grows when a batch is larger than any
/// before; the model's workspace likewise. Steady-state steps allocate nothing large.
public final class ClassificationStep {
    /// One micro-batch, row-major `(B, T)` (dynamic padding: each micro-batch its own T).
    public struct Batch: Sendable {
        /// (B, T) token ids.
        public var inputIds: [Int32]
        /// (B, T) segment ids.
        public var tokenTypeIds: [Int32]
        /// (B, T), 1 = attend, 0 = padding.
        public var attentionMask: [Int32]
        /// The task's targets: (B) class ids in `0 ..< numLabels` for sequence classification.
        public var labels: [Int32]
        /// T.
        public var sequenceLength: Int
        /// B.
        public var batchSize: Int { sequenceLength > 0 ? inputIds.count / sequenceLength : 0 }

        public init(
            inputIds: [Int32], tokenTypeIds: [Int32], attentionMask: [Int32], labels: [Int32],
            sequenceLength: Int
        ) {
            self.inputIds = inputIds
            self.tokenTypeIds = tokenTypeIds
            self.attentionMask = attentionMask
            self.labels = labels
            self.sequenceLength = sequenceLength
        }
    }

    /// What one optimizer step reports (what HF logs with `logging_steps=1`).
    public struct Result: Sendable, Equatable {
        /// The mean of the micro-batch mean losses (the loss of the accumulated batch when the
        /// micro-batches are of equal size); under `.tokenWeightedMean`, the mean over every target of the step.
        public let loss: Float
        /// The loss Hugging Face's Trainer logs for this step: the float32 sum of the losses it
        /// back-propagated (`loss` × K under `.sumOfMicroBatchMeans`, `loss` under `.meanOfMicroBatchMeans`).
        public let loggedLoss: Float
        /// The global L2 norm of the accumulated gradient before clipping (HF's `grad_norm`).
        public let gradientNorm: Float
        /// The learning rate this step used (HF's logged `learning_rate`).
        public let learningRate: Double
        /// Optimizer steps completed, this one included (HF's `global_step`).
        public let step: Int
        /// Time the step waited for the data-parallel all-reduce after backward (all of it when
        /// not overlapped; what backward did not hide when overlapped), waits for slower ranks included.
        public var synchronizationSeconds: Double = 0
    }

    public let model: any SequenceModel
    /// The head's loss.
    public let objective: any TaskObjective
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    /// HF `max_grad_norm`; ≤ 0 turns clipping off (the norm is still measured and reported).
    public let maxGradNorm: Double
    public let accumulationScaling: GradientAccumulationScaling
    /// Averages the accumulated gradient across data-parallel ranks before clipping, so every
    /// rank clips and steps on the same gradient; it is told as the last micro-batch's backward
    /// finishes layers, so it may communicate during backward.
    public var gradientSynchronizer: GradientSynchronizer? {
        didSet {
            gradientsReady = gradientSynchronizer.map { synchronizer in { synchronizer.gradientsReady(from: $0) } }
        }
    }
    /// Called with the model's store once the gradient is complete (averaged across ranks) and
    /// before clipping: a place for extra loss terms' gradients (FedProx's proximal term).
    public var adjustGradients: ((ParameterStore) -> Void)?
    /// The loss reads only the logits, so the last layer computes each sequence's first row only
    /// (`SequenceModel.forward(firstTokenOnly:)`: same logits and gradients up to float rounding, 13%
    /// fewer FLOPs for all-MiniLM-L6-v2 at 128 tokens). False computes every row, as PyTorch does.
    public var firstTokenOnly = true
    /// Collective: the mean over the data-parallel ranks of a per-rank number, for the global
    /// target count of `.tokenWeightedMean`; nil on one rank (each rank's own count is used).
    public var averageAcrossRanks: ((Double) throws -> Double)?
    /// `gradientSynchronizer`'s readiness callback, made once rather than per step.
    private var gradientsReady: ((Int) -> Void)?
    /// Gradient of the loss with respect to the head's outputs, grown on demand.
    private var dLogits: UnsafeMutablePointer<Float>
    private var dLogitsCapacity: Int

    /// - Parameters:
    ///   - optimizer: an `AdamW` over the trainable part of `model.store` (all of it unless tensors
    ///     are frozen; see `init(model:schedule:weightDecay:…)` for Hugging Face's decay groups).
    ///   - classWeights: per-class weights of the loss (`nn.CrossEntropyLoss(weight=…)`), `numLabels` of them.
    /// - Throws: `OptimizerError.badBatch` when the model has no head or the weights do not fit.
    public convenience init(
        model: any SequenceModel, optimizer: AdamW, schedule: LearningRateSchedule, maxGradNorm: Double = 1.0,
        classWeights: [Float]? = nil,
        accumulationScaling: GradientAccumulationScaling = .sumOfMicroBatchMeans
    ) throws {
        guard model.numLabels > 0 else { throw OptimizerError.badBatch("the model has no classification head") }
        let objective: SequenceClassificationObjective
        do {
            objective = try SequenceClassificationObjective(classes: model.numLabels, classWeights: classWeights)
        } catch {
            throw OptimizerError.badBatch("\(error)")
        }
        try self.init(
            model: model, objective: objective, optimizer: optimizer, schedule: schedule,
            maxGradNorm: maxGradNorm, accumulationScaling: accumulationScaling)
    }

    /// A step driver for any task head: `objective` turns the model's outputs into the loss.
    public init(
        model: any SequenceModel, objective: any TaskObjective, optimizer: AdamW, schedule: LearningRateSchedule,
        maxGradNorm: Double = 1.0, accumulationScaling: GradientAccumulationScaling = .sumOfMicroBatchMeans
    ) throws {
        precondition(
            optimizer.parameterCount == model.store.trainableCount,
            "the optimizer covers \(optimizer.parameterCount) elements, the model trains \(model.store.trainableCount)")
        self.model = model
        self.objective = objective
        self.optimizer = optimizer
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.accumulationScaling = accumulationScaling
        dLogitsCapacity = 0
        dLogits = .allocate(capacity: 1)
    }

    /// A step driver with a fresh `AdamW` over the whole model using Hugging Face's decay groups
    /// (`WeightDecayMask.huggingFace`: no decay on biases and layer norms).
    public convenience init(
        model: any SequenceModel, schedule: LearningRateSchedule, weightDecay: Double,
        beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        maxGradNorm: Double = 1.0, classWeights: [Float]? = nil,
        accumulationScaling: GradientAccumulationScaling = .sumOfMicroBatchMeans
    ) throws {
        let optimizer = AdamW(
            store: model.store, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, decaying: WeightDecayMask.huggingFace(model.store))
        try self.init(
            model: model, optimizer: optimizer, schedule: schedule, maxGradNorm: maxGradNorm,
            classWeights: classWeights, accumulationScaling: accumulationScaling)
    }

    deinit {
        dLogits.deallocate()
    }

    /// The learning rate the next step will use.
    public var nextLearningRate: Double { schedule.learningRate(atStep: optimizer.stepCount) }

    /// One optimizer step over `microBatches` (K = `microBatches.count` ≥ 1 of them; HF's
    /// `current_gradient_accumulation_steps`, fewer at the end of an epoch).
    /// Afterwards `model.store.gradients` holds the clipped accumulated gradient.
    ///
    /// Dropout (when the config has any) draws its masks from one seed per step: micro-batch `k`
    /// runs with `dropoutSeed &+ k · 0x9E3779B97F4A7C15` (micro-batch 0 with `dropoutSeed`
    /// itself), so the micro-batches of a step get different masks and a step is replayed
    /// exactly from its seed.
    /// - Throws: `OptimizerError.badBatch` for a malformed batch (checked for all micro-batches
    ///   before any work), `ModelError` from the model's forward; then no optimizer step is taken.
    public func step(_ microBatches: [Batch], dropoutSeed: UInt64 = 0) throws -> Result {
        guard !microBatches.isEmpty else { throw OptimizerError.badBatch("no micro-batches") }
        for (k, batch) in microBatches.enumerated() { try validate(batch, index: k) }
        var maxOutputs = 0
        for batch in microBatches { maxOutputs = max(maxOutputs, objective.outputCount(batch: batch.batchSize, sequence: batch.sequenceLength)) }
        if maxOutputs > dLogitsCapacity {
            dLogits.deallocate()
            dLogitsCapacity = maxOutputs
            dLogits = .allocate(capacity: dLogitsCapacity)
        }

        let learningRate = schedule.learningRate(atStep: optimizer.stepCount)
        let K = microBatches.count
        // The factor each micro-batch loss is multiplied by before backward (HF: `loss / K`, 1, or n_k / N).
        var lossScales = [Float](repeating: accumulationScaling == .meanOfMicroBatchMeans ? 1 / Float(K) : 1, count: K)
        if accumulationScaling == .tokenWeightedMean {
            let counts = microBatches.map { batch in
                batch.labels.withUnsafeBufferPointer {
                    objective.reductionCount(targets: $0.baseAddress!, batch: batch.batchSize, sequence: batch.sequenceLength)
                }
            }
            // The step's denominator: this rank's targets, or the ranks' mean count (every rank's
            // gradient is then Σ n_k ∇mean_k / mean N, and their average the global token mean's).
            let local = Double(counts.reduce(0, +))
            let denominator = try averageAcrossRanks?(local) ?? local
            lossScales = counts.map { denominator > 0 ? Float(Double($0) / denominator) : 0 }
        }
        model.store.zeroGradients()
        gradientSynchronizer?.prepareStep(microBatches)
        var lossSum: Double = 0
        var loggedLoss: Float = 0
        let tracer = Tracer.current
        // With tracing on, the model's passes report their embeddings, layers and head as spans.
        let spanRecording = tracer == nil ? nil : model as? any SpanRecordingModel
        spanRecording?.spanRecorder = tracer
        defer { spanRecording?.spanRecorder = nil }
        for (k, batch) in microBatches.enumerated() {
            let B = batch.batchSize, T = batch.sequenceLength
            let seed = dropoutSeed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15
            let shape: [String: Double] = ["micro_batch": Double(k), "batch": Double(B), "sequence": Double(T)]
            let out = try tracer.span("forward", category: "compute", arguments: shape) {
                try model.forward(
                    inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds,
                    attentionMask: batch.attentionMask, batch: B, sequence: T, training: true,
                    dropoutSeed: seed, firstTokenOnly: firstTokenOnly)
            }
            // dLogits = ∂(mean loss)/∂outputs, already divided by the task's denominator (B, or Σ of the target weights).
            let loss = tracer.span("loss", category: "compute", arguments: shape) {
                objective.loss(outputs: out.logits!, targets: batch.labels, batch: B, sequence: T, dOutputs: dLogits)
            }
            let lossScale = lossScales[k]
            if lossScale != 1 {
                for i in 0..<objective.outputCount(batch: B, sequence: T) { dLogits[i] *= lossScale }  // ∂(loss / K)/∂outputs
            }
            // Only the last micro-batch's backward completes the gradient: communication starts there.
            let last = k == K - 1
            if last { gradientSynchronizer?.beginStep() }
            tracer.span("backward", category: "compute", arguments: shape) {
                model.backward(dLogits: dLogits, dPooled: nil, dLastHiddenState: nil, gradientsReady: last ? gradientsReady : nil)  // accumulates into store.gradients
            }
            lossSum += accumulationScaling == .tokenWeightedMean ? Double(loss) * Double(lossScale) * Double(K) : Double(loss)
            loggedLoss += loss * lossScale  // HF: tr_loss += (loss / K, loss, or loss · n_k / N), float32
        }

        let gradients = model.store.gradients
        if let gradientSynchronizer { try tracer.span("all-reduce wait", category: "allreduce") { try gradientSynchronizer.finishStep() } }
        let synchronizationSeconds = gradientSynchronizer?.lastWaitSeconds ?? 0
        let optimizerStart = Tracer.now()
        adjustGradients?(model.store)
        let gradientNorm =
            maxGradNorm > 0
            ? GradientClipping.clipByGlobalNorm(gradients, maxNorm: maxGradNorm)
            : GradientClipping.globalNorm(UnsafeBufferPointer(gradients))
        optimizer.step(model.store, learningRate: learningRate)
        tracer?.complete("optimizer", category: "optimizer", since: optimizerStart)
        return Result(
            loss: Float(lossSum / Double(K)), loggedLoss: loggedLoss, gradientNorm: gradientNorm,
            learningRate: learningRate, step: optimizer.stepCount,
            synchronizationSeconds: synchronizationSeconds)
    }

    private func validate(_ batch: Batch, index k: Int) throws {
        let B = batch.batchSize, T = batch.sequenceLength
        guard B > 0, T > 0 else { throw OptimizerError.badBatch("micro-batch \(k) is empty (B = \(B), T = \(T))") }
        guard batch.inputIds.count == B * T, batch.tokenTypeIds.count == B * T, batch.attentionMask.count == B * T else {
            throw OptimizerError.badBatch(
                "micro-batch \(k): \(batch.inputIds.count) ids, \(batch.tokenTypeIds.count) token types, \(batch.attentionMask.count) mask values for B × T = \(B) × \(T)"
            )
        }
        guard batch.labels.count == objective.targetCount(batch: B, sequence: T) else {
            throw OptimizerError.badBatch(
                "micro-batch \(k): \(batch.labels.count) targets, the head needs \(objective.targetCount(batch: B, sequence: T))")
        }
        do {
            try objective.validate(targets: batch.labels, batch: B, sequence: T)
        } catch {
            throw OptimizerError.badBatch("micro-batch \(k): \(error)")
        }
    }
}

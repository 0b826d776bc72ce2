import FTCore

/// An encoder of the BERT shape (BERT, DistilBERT, …: `EncoderFamily`) with its first-token head
/// — the pooler's dense layer and, with `numLabels > 0`, a sequence-classification layer
/// (`classifier (L, C)`, as Hugging Face's `*ForSequenceClassification`) — over one flat
/// parameter buffer.
///
/// Store names are Hugging Face's without the base prefix (`bert.`, `distilbert.`). The query, key
/// and value weights of a layer are laid out back to back, so together they form one `(3C, C)`
/// matrix and the three projections are one product (likewise their biases).
///
/// `forward` then `backward` is one training step's model part; `backward` accumulates into
/// `store.gradients`. Every layer runs `forwardLayer`/`backwardLayer` (`EncoderModel+Layer`).
public final class EncoderModel: @unchecked Sendable {
    public let config: EncoderConfig
    /// Number of classes of the head, or 0 for a bare encoder.
    public let numLabels: Int
    /// What the head classifies: the sequence (first token, through the pooler) or every token.
    public let head: EncoderHead
    public let store: ParameterStore
    /// LoRA branches (and other parameter-efficient modules) when the model was built with them.
    public let peft: PEFTModules?
    /// Whether the model has the dense layer on the first token (BERT's pooler is part of the bare
    /// encoder; DistilBERT's `pre_classifier` comes with the head).
    public let hasPooler: Bool
    /// The family's tensors that never train (DistilBERT's fixed sinusoidal positions).
    let fixedTensors: Set<String>
    var parameters: EncoderParameters
    var workspace: EncoderWorkspace?
    var lastBatch = 0, lastSequence = 0
    /// Seed of the last forward's dropout masks (0 and unused in inference).
    var lastDropoutSeed: UInt64 = 0
    var lastTraining = false
    /// Whether the last forward ran its last layer for first tokens only (`forward(firstTokenOnly:)`).
    var lastFirstTokenOnly = false
    /// (B, T) position ids of the last forward when the family forms them from the ids (RoBERTa), else empty.
    var positionIds: [Int32] = []
    /// The arithmetic of the layers' dense products (attention's, embeddings', layer norms' and
    /// PEFT branches' stay float32): `.bfloat16` is `bf16: true`'s mixed precision — bf16 operands,
    /// float32 accumulation into float32 activations and gradients, float32 master weights.
    public var precision: MatrixPrecision = .float32
    /// Each layer's products quantised for INT8 inference (`quantizeForInference`), or nil.
    var int8Layers: [Int8EncoderLayer]?
    /// Each layer's product weights prepared for float32 inference (`prepareForInference`), or nil.
    var float32Layers: [Float32EncoderLayer]?
    /// When set, `backward` adds ∂loss/∂(head mask) of every layer's heads into it (`[layer][head]`,
    /// local head numbering): Michel et al.'s head importance (`EncoderModel+HeadMask`).
    public var headMaskGradients: [[Float]]?
    /// Where each pass's parts go as timeline spans (embeddings, every layer, the head); nil:
    /// none. The forward's spans are those of its first slice of the batch (the slices run side by
    /// side, each through every layer).
    public var spanRecorder: (any ModelSpanRecorder)?
    /// Hugging Face's `problem_type` of a sequence head that `exportConfig` writes
    /// (`single_label_classification`, `multi_label_classification`, `regression`); nil keeps
    /// the base config's, else single-label.
    public var problemType: String?

    /// A model with all parameters zero; call `load` or `initializeRandomly` next.
    /// `peft` adds adapter tensors (LoRA's A and B) after each layer's own.
    public init(config: EncoderConfig, numLabels: Int = 0, head: EncoderHead = .sequenceClassification, peft: PEFTSetup? = nil) throws {
        try config.validate()
        // The head's layer under its own name (`qa_outputs`): the store, loading, export and PEFT follow.
        var config = config
        // (A sequence head keeps the family's own classifier name: RoBERTa's `classifier.out_proj`.)
        config.family = config.family.withHeadLayer(named: head == .sequenceClassification ? config.family.names.classifier : head.layerName)
        guard peft == nil || !config.hasPrunedHeads else {
            throw ModelError.badConfig(
                "config", "parameter-efficient modules (LoRA, adapters) on a model with pruned_heads are not supported; fine-tune it fully")
        }
        Parallel.pinBLASThreads()
        self.config = config
        guard head == .sequenceClassification || numLabels > 0 else {
            throw ModelError.badInput("a per-token head (\(head.architectureSuffix)) needs at least one output")
        }
        if let width = head.fixedWidth, numLabels != width {
            throw ModelError.badInput("a \(head.architectureSuffix) head has \(width) outputs (start, end), not \(numLabels)")
        }
        self.numLabels = numLabels
        self.head = head
        hasPooler = Self.hasPooler(config: config, numLabels: numLabels, head: head)
        if head.isPerToken, let peft, !PEFTModules.layout(setup: peft, config: config)[config.numHiddenLayers].isEmpty {
            throw ModelError.badConfig(
                "lora_target_modules", "a per-token head (\(head.architectureSuffix)) has no pooler to adapt; leave pooler.dense out")
        }
        let store = ParameterStore(layout: EncoderModel.layout(config: config, numLabels: numLabels, head: head, peft: peft))
        self.store = store
        self.peft = try peft.map { try PEFTModules(setup: $0, config: config, store: store) }
        let fixed: Set<String> = config.positionEncoding == .sinusoidal ? [config.family.names.positionEmbeddings] : []
        fixedTensors = fixed
        if config.positionEncoding == .sinusoidal {
            SinusoidalPositions.fill(
                store.value(config.family.names.positionEmbeddings),
                positions: config.maxPositionEmbeddings, channels: config.hiddenSize)
        }
        if !fixed.isEmpty { store.setTrainable { !fixed.contains($0) } }
        parameters = EncoderParameters(store: store, config: config, hasPooler: hasPooler, hasClassifier: numLabels > 0)
    }

    /// The family: its names, head and config keys.
    public var family: EncoderFamily { config.family }

    /// Whether the model has the dense layer on the first token: a sequence head's (and BERT's
    /// bare encoder's) pooler; a token head has none (`add_pooling_layer=False`, as
    /// `BertForTokenClassification` builds it).
    static func hasPooler(config: EncoderConfig, numLabels: Int, head: EncoderHead) -> Bool {
        head == .sequenceClassification && (!config.family.names.poolerInHead || numLabels > 0)
    }

    /// The `(name, shape)` list of every base parameter, in buffer order.
    public static func layout(
        config: EncoderConfig, numLabels: Int, head: EncoderHead = .sequenceClassification
    ) -> [(name: String, shape: [Int])] {
        let C = config.hiddenSize, I = config.intermediateSize, names = config.family.names
        var layout: [(name: String, shape: [Int])] = [
            (names.wordEmbeddings, [config.vocabSize, C]),
            (names.positionEmbeddings, [config.maxPositionEmbeddings, C]),
        ]
        if let tokenTypes = names.tokenTypeEmbeddings { layout.append((tokenTypes, [config.typeVocabSize, C])) }
        layout += [(names.embeddingNorm + ".weight", [C]), (names.embeddingNorm + ".bias", [C])]
        let m = names.layerModules
        for l in 0..<config.numHiddenLayers {
            let p = names.layer(l)
            let A = config.attentionWidth(layer: l)  // C, less the pruned heads' width
            layout += [
                // Q, K, V weights then biases, adjacent: one (3A, C) product.
                (p + m[0] + ".weight", [A, C]), (p + m[1] + ".weight", [A, C]), (p + m[2] + ".weight", [A, C]),
                (p + m[0] + ".bias", [A]), (p + m[1] + ".bias", [A]), (p + m[2] + ".bias", [A]),
                (p + m[3] + ".weight", [C, A]), (p + m[3] + ".bias", [C]),
                (p + names.attentionNorm + ".weight", [C]), (p + names.attentionNorm + ".bias", [C]),
                (p + m[4] + ".weight", [I, C]), (p + m[4] + ".bias", [I]),
                (p + m[5] + ".weight", [C, I]), (p + m[5] + ".bias", [C]),
                (p + names.outputNorm + ".weight", [C]), (p + names.outputNorm + ".bias", [C]),
            ]
        }
        if hasPooler(config: config, numLabels: numLabels, head: head) {
            layout += [(names.pooler + ".weight", [C, C]), (names.pooler + ".bias", [C])]
        }
        if numLabels > 0 {
            layout += [(names.classifier + ".weight", [numLabels, C]), (names.classifier + ".bias", [numLabels])]
        }
        return layout
    }

    /// Hugging Face's `_init_weights` for BERT-shaped models: linear and embedding weights
    /// ~ N(0, 0.02), biases 0, layer-norm weights 1 (fixed tensors keep their values).
    /// `only` restricts it to the named tensors (a new head on a pretrained encoder).
    public func initializeRandomly(rng: inout SeededRNG, standardDeviation: Float = 0.02, only: Set<String>? = nil) {
        let names = config.family.names
        let norms = [names.embeddingNorm, names.attentionNorm, names.outputNorm].map { $0.split(separator: ".").last.map(String.init)! + ".weight" }
        for view in store.views where (only?.contains(view.name) ?? true) && !fixedTensors.contains(view.name) {
            let p = store.value(view.name)
            if norms.contains(where: { view.name.hasSuffix($0) }) {
                p.update(repeating: 1, count: view.count)
            } else if view.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: view.count)
            } else {
                for i in 0..<view.count { p[i] = rng.nextNormal() * standardDeviation }
            }
        }
    }

    // MARK: - Forward

    /// Runs the encoder on a batch (B, T) of ids, token types and attention mask (1 = attend).
    /// With `training`, every layer's activations are kept for `backward` and dropout is on, its
    /// masks drawn from `dropoutSeed` (one per step from the trainer's seeded RNG; the same seed
    /// gives the same masks). Families without token types ignore `tokenTypeIds`.
    ///
    /// `firstTokenOnly` says the caller reads only the pooled output and logits (and, in
    /// `backward`, gives no `dLastHiddenState`): the last layer then computes each sequence's
    /// first row only, when `computesFirstTokensOnly` allows it (see `EncoderModel+Layer`).
    /// `lastHiddenState` then holds each sequence's first row; its other rows are unspecified.
    public func forward(
        inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>,
        attentionMask: UnsafePointer<Int32>, batch B: Int, sequence T: Int,
        training: Bool, dropoutSeed: UInt64 = 0, firstTokenOnly: Bool = false
    ) throws -> ModelOutputs {
        guard T <= config.maxSequenceLength else {
            throw ModelError.badInput(
                "sequence length \(T) exceeds the \(config.maxSequenceLength) positions of \(config.key("max_position_embeddings")) \(config.maxPositionEmbeddings)"
            )
        }
        let N = B * T
        let tokenTypes = config.family.names.tokenTypeEmbeddings != nil
        for n in 0..<N {
            guard inputIds[n] >= 0 && Int(inputIds[n]) < config.vocabSize else {
                throw ModelError.badInput("token id \(inputIds[n]) is outside the vocabulary (size \(config.vocabSize))")
            }
            guard !tokenTypes || (tokenTypeIds[n] >= 0 && Int(tokenTypeIds[n]) < config.typeVocabSize) else {
                throw ModelError.badInput("token type id \(tokenTypeIds[n]) is outside type_vocab_size \(config.typeVocabSize)")
            }
        }
        refreshParameters()
        let ws = workspaceFor(batch: B, sequence: T, training: training)
        lastBatch = B
        lastSequence = T
        lastTraining = training
        lastDropoutSeed = dropoutSeed
        lastFirstTokenOnly = firstTokenOnly && computesFirstTokensOnly
        ws.inputIds.update(from: inputIds, count: N)
        ws.tokenTypeIds.update(from: tokenTypeIds, count: N)
        ws.attentionMask.update(from: attentionMask, count: N)
        if config.family.positionIds == .afterPadding {
            if positionIds.count < N { positionIds = [Int32](repeating: 0, count: N) }
            positionIds.withUnsafeMutableBufferPointer {
                PaddingPositions.fill(positions: $0.baseAddress!, inputIds: inputIds, paddingIndex: paddingIndex, batch: B, sequence: T)
            }
        }
        peft?.prepare(tokens: N, training: training, dropoutSeed: dropoutSeed)

        // Sequences are independent in the forward pass: slices of the batch run side by side.
        Parallel.forEachSlice(of: B) { rows in
            forwardSlice(ws, firstRow: rows.lowerBound, batch: rows.count, sequence: T)
        }
        let last = ws.hiddenIn(config.numHiddenLayers)
        return ModelOutputs(
            lastHiddenState: UnsafePointer(last), pooled: hasPooler ? UnsafePointer(ws.pooled) : nil,
            logits: numLabels > 0 ? UnsafePointer(ws.logits) : nil)  // (B, L), or (B, T, L) for a token head
    }

    /// The forward pass for batch rows `firstRow ..< firstRow + B` of the workspace: every buffer
    /// is addressed at that slice's offset, so slices write disjoint memory.
    private func forwardSlice(_ ws: EncoderWorkspace, firstRow: Int, batch B: Int, sequence T: Int) {
        let N = B * T, C = config.hiddenSize, P = parameters
        let o = firstRow * T  // first token of the slice
        var spans = ModelSpanMarks(firstRow == 0 ? spanRecorder : nil, backward: false)
        defer { if hasPooler || numLabels > 0 { spans.end(.head) } }
        if config.family.positionIds == .afterPadding {
            positionIds.withUnsafeBufferPointer {
                EmbeddingSum.forward(
                    output: ws.embeddingSum + o * C, inputIds: ws.inputIds + o, positionIds: $0.baseAddress! + o,
                    tokenTypeIds: ws.tokenTypeIds + o, word: P.wordEmbeddings.value, position: P.positionEmbeddings.value,
                    tokenType: P.tokenTypeEmbeddings?.value, batch: B, sequence: T, channels: C)
            }
        } else {
            EmbeddingSum.forward(
                output: ws.embeddingSum + o * C, inputIds: ws.inputIds + o, tokenTypeIds: ws.tokenTypeIds + o,
                word: P.wordEmbeddings.value, position: P.positionEmbeddings.value,
                tokenType: P.tokenTypeEmbeddings?.value, batch: B, sequence: T, channels: C)
        }
        LayerNorm.forward(
            output: ws.hiddenIn(0) + o * C, mean: ws.embeddingMean + o, rstd: ws.embeddingRstd + o,
            input: ws.embeddingSum + o * C, gamma: P.embeddingNorm.gamma.value,
            beta: P.embeddingNorm.beta.value, rows: N, channels: C, epsilon: config.layerNormEps)
        dropout(.embeddings).apply(ws.hiddenIn(0) + o * C, count: N * C, firstIndex: o * C)
        spans.end(.embeddings)

        for l in 0..<config.numHiddenLayers {
            let firstTokens = lastFirstTokenOnly && l == config.numHiddenLayers - 1
            forwardLayer(l, ws, firstRow: firstRow, batch: B, sequence: T, firstTokensOnly: firstTokens)
            spans.end(.layer(l))
        }
        if head.isPerToken, let classifier = P.classifier {
            // Per-token head: dropout on every row of the last hidden state, then the layer (N, C) → (N, L).
            let input = ws.tokenClassifierInput + o * C
            dropout(.classifier).apply(from: ws.hiddenIn(config.numHiddenLayers) + o * C, to: input, count: N * C, firstIndex: o * C)
            Linear.forward(
                output: ws.logits + o * numLabels, input: input, weight: classifier.weight.value,
                bias: classifier.bias.value, rows: N, inputs: C, outputs: numLabels, precision: precision)
            return
        }
        guard let pooler = P.pooler else { return }

        let last = ws.hiddenIn(config.numHiddenLayers) + o * C
        let clsRows = ws.clsRows + firstRow * C, pooled = ws.pooled + firstRow * C
        for b in 0..<B { (clsRows + b * C).update(from: last + b * T * C, count: C) }
        if config.family.dropoutBeforePooler {
            dropout(.poolerInput).apply(clsRows, count: B * C, firstIndex: firstRow * C)
        }
        Linear.forward(
            output: pooled, input: clsRows, weight: pooler.weight.value, bias: pooler.bias.value,
            rows: B, inputs: C, outputs: C, precision: precision)
        peft?.forward(.pooler, layer: config.numHiddenLayers, input: clsRows, output: pooled, firstToken: firstRow, rows: B)
        switch config.family.poolerActivation {
        case .tanh: Tanh.forward(output: pooled, input: pooled, count: B * C)
        case .relu: ReLU.forward(output: pooled, input: pooled, count: B * C)
        }
        if let classifier = P.classifier {
            let classifierInput = ws.pooledDropped + firstRow * C
            dropout(.classifier).apply(from: pooled, to: classifierInput, count: B * C, firstIndex: firstRow * C)
            Linear.forward(
                output: ws.logits + firstRow * numLabels, input: classifierInput, weight: classifier.weight.value,
                bias: classifier.bias.value, rows: B, inputs: C, outputs: numLabels, precision: precision)
        }
    }

    // MARK: - Backward

    /// Backward of the last training `forward`, accumulating into `store.gradients`.
    /// Any of the upstream gradients may be nil (treated as zero): `dLogits (B, L)` for the head,
    /// `dPooled (B, C)`, `dLastHiddenState (B, T, C)`.
    ///
    /// `gradientsReady(offset)` is called as backward moves down the network — after the head and
    /// pooler, after each encoder layer, after the embeddings — each time with the gradient-buffer
    /// offset from which on every gradient is final (the layout puts later layers, and each layer's
    /// adapters, at higher offsets), so data-parallel training can average those while backward
    /// continues (PyTorch DDP's buckets).
    public func backward(
        dLogits: UnsafePointer<Float>? = nil, dPooled: UnsafePointer<Float>? = nil,
        dLastHiddenState: UnsafePointer<Float>? = nil, gradientsReady: ((Int) -> Void)? = nil
    ) {
        guard let ws = workspace, ws.training, lastTraining else {
            preconditionFailure("backward needs a preceding forward(training: true)")
        }
        precondition(
            !lastFirstTokenOnly || dLastHiddenState == nil,
            "a forward for first tokens only has no gradient for the other rows of the last hidden state")
        refreshParameters()
        let B = lastBatch, T = lastSequence, N = B * T, C = config.hiddenSize, P = parameters
        let names = config.family.names
        var spans = ModelSpanMarks(spanRecorder, backward: true)

        // Head and pooler: dLogits → dPooled → dCls rows.
        if let pooler = P.pooler {
            if let dPooled { ws.dPooled.update(from: dPooled, count: B * C) } else { ws.dPooled.update(repeating: 0, count: B * C) }
            if let classifier = P.classifier, let dLogits {
                // dCls is free until the pooler's backward: it carries d(pooled after dropout) here.
                Linear.backward(
                    dInput: ws.dCls, dWeight: classifier.weight.gradient, dBias: classifier.bias.gradient,
                    dOutput: dLogits, input: ws.pooledDropped, weight: classifier.weight.value,
                    rows: B, inputs: C, outputs: numLabels, precision: precision)
                dropout(.classifier).apply(ws.dCls, count: B * C, firstIndex: 0)
                VectorMath.add(ws.dPooled, ws.dCls, B * C)
            }
            switch config.family.poolerActivation {
            case .tanh: Tanh.backward(dInput: ws.dPooled, dOutput: ws.dPooled, output: ws.pooled, count: B * C)
            case .relu: ReLU.backward(dInput: ws.dPooled, dOutput: ws.dPooled, output: ws.pooled, count: B * C)
            }
            Linear.backward(
                dInput: ws.dCls, dWeight: pooler.weight.gradient, dBias: pooler.bias.gradient,
                dOutput: ws.dPooled, input: ws.clsRows, weight: pooler.weight.value, rows: B, inputs: C, outputs: C, precision: precision)
            peft?.backward(.pooler, layer: config.numHiddenLayers, input: ws.clsRows, dOutput: ws.dPooled, dInput: ws.dCls, rows: B)
            if config.family.dropoutBeforePooler { dropout(.poolerInput).apply(ws.dCls, count: B * C, firstIndex: 0) }
            gradientsReady?(gradientOffset(from: names.pooler + ".weight"))
        }

        var dY = ws.dHiddenA, dX = ws.dHiddenB
        if let dLastHiddenState { dY.update(from: dLastHiddenState, count: N * C) } else { dY.update(repeating: 0, count: N * C) }
        if head.isPerToken, let classifier = P.classifier, let dLogits {
            // Per-token head: dX is free until the last layer's backward; it carries d(classifier input).
            Linear.backward(
                dInput: dX, dWeight: classifier.weight.gradient, dBias: classifier.bias.gradient,
                dOutput: dLogits, input: ws.tokenClassifierInput, weight: classifier.weight.value,
                rows: N, inputs: C, outputs: numLabels, precision: precision)
            dropout(.classifier).apply(dX, count: N * C, firstIndex: 0)
            VectorMath.add(dY, dX, N * C)
            gradientsReady?(gradientOffset(from: names.classifier + ".weight"))
        }
        if P.pooler != nil {
            for b in 0..<B { VectorMath.add(dY + b * T * C, ws.dCls + b * C, C) }
        }
        if hasPooler || numLabels > 0 { spans.end(.head) } else { spans.skip() }

        // Frozen layers at the bottom (and frozen embeddings) need no backward at all.
        let reach = backwardReach()
        for l in stride(from: config.numHiddenLayers - 1, through: reach.lowestLayer, by: -1) {
            // Unless nothing below trains (the lowest layer reached, over frozen embeddings), the
            // layer's input needs a gradient.
            let inputGradient = l > reach.lowestLayer || reach.embeddings
            let firstTokens = lastFirstTokenOnly && l == config.numHiddenLayers - 1
            backwardLayer(l, ws, batch: B, sequence: T, dY: dY, dX: dX, inputGradient: inputGradient, firstTokensOnly: firstTokens)
            swap(&dX, &dY)
            gradientsReady?(gradientOffset(from: names.layer(l) + names.layerModules[0] + ".weight"))
            spans.end(.layer(l))
        }

        // Embeddings: dropout, LN, then scatter into the tables.
        guard reach.embeddings else {
            gradientsReady?(0)
            return
        }
        dropout(.embeddings).apply(dY, count: N * C, firstIndex: 0)
        LayerNorm.backward(
            dInput: dY, dGamma: P.embeddingNorm.gamma.gradient, dBeta: P.embeddingNorm.beta.gradient,
            dOutput: dY, input: ws.embeddingSum, mean: ws.embeddingMean, rstd: ws.embeddingRstd,
            gamma: P.embeddingNorm.gamma.value, rows: N, channels: C)
        if config.family.positionIds == .afterPadding {
            positionIds.withUnsafeBufferPointer {
                EmbeddingSum.backward(
                    dWord: P.wordEmbeddings.gradient, dPosition: P.positionEmbeddings.gradient,
                    dTokenType: P.tokenTypeEmbeddings?.gradient, dOutput: dY, inputIds: ws.inputIds, positionIds: $0.baseAddress!,
                    tokenTypeIds: ws.tokenTypeIds, batch: B, sequence: T, channels: C, paddingIndex: paddingIndex)
            }
        } else {
            EmbeddingSum.backward(
                dWord: P.wordEmbeddings.gradient, dPosition: P.positionEmbeddings.gradient,
                dTokenType: P.tokenTypeEmbeddings?.gradient, dOutput: dY,
                inputIds: ws.inputIds, tokenTypeIds: ws.tokenTypeIds, batch: B, sequence: T, channels: C,
                paddingIndex: paddingIndex)
        }
        gradientsReady?(0)
        spans.end(.embeddings)
    }

    // MARK: - Helpers

    /// The padding id: the word-embedding row without gradient (and RoBERTa's padding position).
    var paddingIndex: Int32 { Int32(config.padTokenId ?? 0) }  // BertConfig's default pad_token_id

    /// Rebuilds the typed views when the store's trainable set changed since they were taken.
    func refreshParameters() {
        guard parameters.generation != store.generation else { return }
        parameters = EncoderParameters(store: store, config: config, hasPooler: hasPooler, hasClassifier: numLabels > 0)
    }

    /// The gradient-buffer offset of the first trainable tensor at or after `name` in the layout
    /// (the end of the buffer when there is none): from there on, gradients belong to `name`'s
    /// part of the network and everything above it.
    private func gradientOffset(from name: String) -> Int {
        let start = store.view(name).offset
        for view in store.views where view.offset >= start {
            if let offset = view.gradientOffset { return offset }
        }
        return store.trainableCount
    }

    /// Where dropout is applied: each site gets its own mask key.
    enum DropoutSite {
        case embeddings, classifier
        /// The first token's row before the pooler's dense layer (RoBERTa's classification head).
        case poolerInput
        case attentionProbabilities(Int), attentionOutput(Int), feedForwardOutput(Int)

        var id: UInt64 {
            switch self {
            case .embeddings: return 1
            case .classifier: return 2
            case .poolerInput: return 3
            case .attentionProbabilities(let l): return 100 + 10 * UInt64(l) + 1
            case .attentionOutput(let l): return 100 + 10 * UInt64(l) + 2
            case .feedForwardOutput(let l): return 100 + 10 * UInt64(l) + 3
            }
        }
    }

    /// The dropout of `site` for the current pass: Hugging Face's probabilities in training
    /// (`classifier_dropout` falling back to `hidden_dropout_prob`), none in inference nor where
    /// the family has no dropout.
    func dropout(_ site: DropoutSite) -> Dropout {
        guard lastTraining else { return Dropout(probability: 0, key: 0) }
        let probability: Float
        switch site {
        case .attentionProbabilities: probability = config.attentionProbsDropoutProb
        case .poolerInput: probability = config.classifierDropout ?? config.hiddenDropoutProb
        case .classifier:
            // BertForQuestionAnswering has no dropout before `qa_outputs`; DistilBERT's QA head has
            // `qa_dropout` (read as hidden dropout, its default 0.1 too).
            let bertRule = config.family.perTokenHeadDropout == .bert
            if head == .questionAnswering && bertRule { return Dropout(probability: 0, key: 0) }
            // DistilBERT's token head takes `dropout` (hidden), its sequence head `seq_classif_dropout`.
            let headOwnsDropout = head == .sequenceClassification || bertRule
            probability = headOwnsDropout ? config.classifierDropout ?? config.hiddenDropoutProb : config.hiddenDropoutProb
        case .attentionOutput: probability = config.family.attentionOutputDropout ? config.hiddenDropoutProb : 0
        default: probability = config.hiddenDropoutProb
        }
        return Dropout(probability: probability, key: Dropout.key(seed: lastDropoutSeed, site: site.id))
    }

    /// The workspace for this shape, planned anew only when the shape outgrows it.
    private func workspaceFor(batch: Int, sequence: Int, training: Bool) -> EncoderWorkspace {
        if let ws = workspace, ws.fits(batch: batch, sequence: sequence, training: training) { return ws }
        let maxBatch = max(batch, workspace?.maxBatch ?? 0)
        let maxSequence = max(sequence, workspace?.maxSequence ?? 0)
        workspace = nil  // free the old plan before making the new one
        let ws = EncoderWorkspace(
            config: config, labels: numLabels, tokenHead: head.isPerToken, maxBatch: maxBatch,
            maxSequence: maxSequence, training: training)
        workspace = ws
        return ws
    }
}

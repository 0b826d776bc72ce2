import FTCore

/// A BERT encoder with its pooler and, optionally, a sequence-classification head
/// (`classifier.weight (L, C)`, `classifier.bias (L)` on the pooled output, as Hugging Face's
/// `BertForSequenceClassification`), over one flat parameter buffer.
///
/// Parameter names are Hugging Face's without the `bert.` prefix. The query, key and value
/// weights of a layer are laid out back to back, so together they form one `(3C, C)` matrix
/// and the three projections are one product (likewise their biases).
///
/// `forward` then `backward` is one training step's model part; `backward` accumulates into
/// `store.gradients`.
public final class BertModel: @unchecked Sendable {
    public let config: BertConfig
    /// Number of classes of the head, or 0 for a bare encoder.
    public let numLabels: Int
    public let store: ParameterStore
    /// LoRA branches (and other parameter-efficient modules) when the model was built with them.
    public let peft: PEFTModules?
    private var workspace: BertWorkspace?
    private var lastBatch = 0, lastSequence = 0
    /// Seed of the last forward's dropout masks (0 and unused in inference).
    private var lastDropoutSeed: UInt64 = 0
    private var lastTraining = false
    /// Whether the last forward ran its last layer for first tokens only (`forward(firstTokenOnly:)`).
    private var lastFirstTokenOnly = false

    /// A model with all parameters zero; call `load` or `initializeRandomly` next.
    /// `peft` adds adapter tensors (LoRA's A and B) after each layer's own.
    public init(config: BertConfig, numLabels: Int = 0, peft: PEFTSetup? = nil) throws {
        try config.validate()
        Parallel.pinBLASThreads()
        self.config = config
        self.numLabels = numLabels
        let store = ParameterStore(layout: BertModel.layout(config: config, numLabels: numLabels, peft: peft))
        self.store = store
        self.peft = peft.map { PEFTModules(setup: $0, config: config, store: store) }
    }

    /// The `(name, shape)` list of every parameter, in buffer order.
    public static func layout(config: BertConfig, numLabels: Int) -> [(name: String, shape: [Int])] {
        let C = config.hiddenSize, I = config.intermediateSize
        var layout: [(name: String, shape: [Int])] = [
            ("embeddings.word_embeddings.weight", [config.vocabSize, C]),
            ("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, C]),
            ("embeddings.token_type_embeddings.weight", [config.typeVocabSize, C]),
            ("embeddings.LayerNorm.weight", [C]),
            ("embeddings.LayerNorm.bias", [C]),
        ]
        for l in 0..<config.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            layout += [
                // Q, K, V weights then biases, adjacent: one (3C, C) product.
                (p + "attention.self.query.weight", [C, C]),
                (p + "attention.self.key.weight", [C, C]),
                (p + "attention.self.value.weight", [C, C]),
                (p + "attention.self.query.bias", [C]),
                (p + "attention.self.key.bias", [C]),
                (p + "attention.self.value.bias", [C]),
                (p + "attention.output.dense.weight", [C, C]),
                (p + "attention.output.dense.bias", [C]),
                (p + "attention.output.LayerNorm.weight", [C]),
                (p + "attention.output.LayerNorm.bias", [C]),
                (p + "intermediate.dense.weight", [I, C]),
                (p + "intermediate.dense.bias", [I]),
                (p + "output.dense.weight", [C, I]),
                (p + "output.dense.bias", [C]),
                (p + "output.LayerNorm.weight", [C]),
                (p + "output.LayerNorm.bias", [C]),
            ]
        }
        layout += [("pooler.dense.weight", [C, C]), ("pooler.dense.bias", [C])]
        if numLabels > 0 {
            layout += [("classifier.weight", [numLabels, C]), ("classifier.bias", [numLabels])]
        }
        return layout
    }

    /// Hugging Face's `_init_weights` for BERT: linear and embedding weights ~ N(0, 0.02),
    /// biases 0, layer-norm weights 1.
    /// `only` restricts it to the named tensors (a new head on a pretrained encoder).
    public func initializeRandomly(rng: inout SeededRNG, standardDeviation: Float = 0.02, only: Set<String>? = nil) {
        for view in store.views where only?.contains(view.name) ?? true {
            let p = store.value(view.name)
            if view.name.hasSuffix("LayerNorm.weight") {
                p.update(repeating: 1, count: view.count)
            } else if view.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: view.count)
            } else {
                for i in 0..<view.count { p[i] = rng.nextNormal() * standardDeviation }
            }
        }
    }

    // MARK: - Forward

    /// Output pointers of the last `forward`, valid until the next call.
    public struct Outputs {
        /// (B, T, C)
        public let lastHiddenState: UnsafePointer<Float>
        /// (B, C)
        public let pooled: UnsafePointer<Float>
        /// (B, L), only when the model has a head.
        public let logits: UnsafePointer<Float>?
    }

    /// Runs the encoder on a batch (B, T) of ids, token types and attention mask (1 = attend).
    /// With `training`, every layer's activations are kept for `backward` and dropout is on, its
    /// masks drawn from `dropoutSeed` (one per step from the trainer's seeded RNG; the same seed
    /// gives the same masks).
    ///
    /// `firstTokenOnly` says the caller reads only the pooled output and logits (and, in
    /// `backward`, gives no `dLastHiddenState`): the last layer then computes each sequence's
    /// first row only, when `computesFirstTokensOnly` allows it (see `BertModel+FirstTokens`).
    /// `lastHiddenState` then holds each sequence's first row; its other rows are unspecified.
    public func forward(inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>,
                        attentionMask: UnsafePointer<Int32>, batch B: Int, sequence T: Int,
                        training: Bool, dropoutSeed: UInt64 = 0, firstTokenOnly: Bool = false) throws -> Outputs {
        guard T <= config.maxPositionEmbeddings else {
            throw ModelError.badInput("sequence length \(T) exceeds max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        let N = B * T
        for n in 0..<N {
            guard inputIds[n] >= 0 && Int(inputIds[n]) < config.vocabSize else {
                throw ModelError.badInput("token id \(inputIds[n]) is outside the vocabulary (size \(config.vocabSize))")
            }
            guard tokenTypeIds[n] >= 0 && Int(tokenTypeIds[n]) < config.typeVocabSize else {
                throw ModelError.badInput("token type id \(tokenTypeIds[n]) is outside type_vocab_size \(config.typeVocabSize)")
            }
        }
        let ws = workspaceFor(batch: B, sequence: T, training: training)
        lastBatch = B
        lastSequence = T
        lastTraining = training
        lastDropoutSeed = dropoutSeed
        lastFirstTokenOnly = firstTokenOnly && computesFirstTokensOnly
        ws.inputIds.update(from: inputIds, count: N)
        ws.tokenTypeIds.update(from: tokenTypeIds, count: N)
        ws.attentionMask.update(from: attentionMask, count: N)
        peft?.prepare(tokens: N, training: training, dropoutSeed: dropoutSeed)

        // Sequences are independent in the forward pass: slices of the batch run side by side.
        Parallel.forEachSlice(of: B) { rows in
            forwardSlice(ws, firstRow: rows.lowerBound, batch: rows.count, sequence: T)
        }
        let last = ws.hiddenIn(config.numHiddenLayers)
        return Outputs(lastHiddenState: UnsafePointer(last), pooled: UnsafePointer(ws.pooled),
                       logits: numLabels > 0 ? UnsafePointer(ws.logits) : nil)
    }

    /// The forward pass for batch rows `firstRow ..< firstRow + B` of the workspace: every buffer
    /// is addressed at that slice's offset, so slices write disjoint memory.
    private func forwardSlice(_ ws: BertWorkspace, firstRow: Int, batch B: Int, sequence T: Int) {
        let N = B * T, C = config.hiddenSize, I = config.intermediateSize, NH = config.numAttentionHeads
        let o = firstRow * T  // first token of the slice
        BertEmbeddingSum.forward(output: ws.embeddingSum + o * C, inputIds: ws.inputIds + o, tokenTypeIds: ws.tokenTypeIds + o,
                                 word: store.value("embeddings.word_embeddings.weight"),
                                 position: store.value("embeddings.position_embeddings.weight"),
                                 tokenType: store.value("embeddings.token_type_embeddings.weight"),
                                 batch: B, sequence: T, channels: C)
        LayerNorm.forward(output: ws.hiddenIn(0) + o * C, mean: ws.embeddingMean + o, rstd: ws.embeddingRstd + o,
                          input: ws.embeddingSum + o * C, gamma: store.value("embeddings.LayerNorm.weight"),
                          beta: store.value("embeddings.LayerNorm.bias"), rows: N, channels: C,
                          epsilon: config.layerNormEps)
        dropout(.embeddings).apply(ws.hiddenIn(0) + o * C, count: N * C, firstIndex: o * C)

        for l in 0..<config.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            // Training caches every head's probabilities; inference gives each slice one (T, T) scratch.
            let x = ws.hiddenIn(l) + o * C, y = ws.hiddenOut(l) + o * C, c = ws.cache(l).offset(tokens: o, channels: C,
                intermediate: I, probabilities: firstRow * (ws.training ? NH : 1) * T * T)
            Linear.forward(output: c.qkv, input: x, weight: store.value(p + "attention.self.query.weight"),
                           bias: store.value(p + "attention.self.query.bias"), rows: N, inputs: C, outputs: 3 * C)
            peft?.forward(.qkv, layer: l, input: x, output: c.qkv, firstToken: o, rows: N)
            if lastFirstTokenOnly && l == config.numHiddenLayers - 1 {
                forwardLastLayerFirstTokens(ws, slice: c, firstRow: firstRow, batch: B, sequence: T)
                break
            }
            SelfAttention.forward(context: c.context, probabilities: c.probabilities, qkv: c.qkv,
                                  attentionMask: ws.attentionMask + o, batch: B, sequence: T, channels: C, heads: NH,
                                  dropout: dropout(.attentionProbabilities(l)),
                                  dropoutScratch: ws.droppedProbabilities + firstRow * T * T,
                                  dropoutIndexOffset: firstRow * NH * T * T, keepProbabilities: ws.training)
            Linear.forward(output: c.residual1, input: c.context, weight: store.value(p + "attention.output.dense.weight"),
                           bias: store.value(p + "attention.output.dense.bias"), rows: N, inputs: C, outputs: C)
            peft?.forward(.attentionOutput, layer: l, input: c.context, output: c.residual1, firstToken: o, rows: N)
            dropout(.attentionOutput(l)).apply(c.residual1, count: N * C, firstIndex: o * C)
            add(c.residual1, x, count: N * C)
            LayerNorm.forward(output: c.hidden1, mean: c.mean1, rstd: c.rstd1, input: c.residual1,
                              gamma: store.value(p + "attention.output.LayerNorm.weight"),
                              beta: store.value(p + "attention.output.LayerNorm.bias"),
                              rows: N, channels: C, epsilon: config.layerNormEps)
            // The intermediate bias joins in GELU's pass, not as rows copied in before the product.
            Linear.forward(output: c.intermediate, input: c.hidden1, weight: store.value(p + "intermediate.dense.weight"),
                           bias: nil, rows: N, inputs: C, outputs: I)
            peft?.forward(.intermediate, layer: l, input: c.hidden1, output: c.intermediate, firstToken: o, rows: N)
            GELU.forward(output: c.activated, input: c.intermediate, bias: store.value(p + "intermediate.dense.bias"),
                         rows: N, columns: I)
            Linear.forward(output: c.residual2, input: c.activated, weight: store.value(p + "output.dense.weight"),
                           bias: store.value(p + "output.dense.bias"), rows: N, inputs: I, outputs: C)
            peft?.forward(.output, layer: l, input: c.activated, output: c.residual2, firstToken: o, rows: N)
            dropout(.feedForwardOutput(l)).apply(c.residual2, count: N * C, firstIndex: o * C)
            peft?.forwardFeedForward(layer: l, branch: c.residual2, firstToken: o, rows: N)
            add(c.residual2, c.hidden1, count: N * C)
            LayerNorm.forward(output: y, mean: c.mean2, rstd: c.rstd2, input: c.residual2,
                              gamma: store.value(p + "output.LayerNorm.weight"),
                              beta: store.value(p + "output.LayerNorm.bias"),
                              rows: N, channels: C, epsilon: config.layerNormEps)
        }

        let last = ws.hiddenIn(config.numHiddenLayers) + o * C
        let clsRows = ws.clsRows + firstRow * C, pooled = ws.pooled + firstRow * C
        for b in 0..<B { (clsRows + b * C).update(from: last + b * T * C, count: C) }
        Linear.forward(output: pooled, input: clsRows, weight: store.value("pooler.dense.weight"),
                       bias: store.value("pooler.dense.bias"), rows: B, inputs: C, outputs: C)
        peft?.forward(.pooler, layer: config.numHiddenLayers, input: clsRows, output: pooled, firstToken: firstRow, rows: B)
        Tanh.forward(output: pooled, input: pooled, count: B * C)
        if numLabels > 0 {
            let classifierInput = ws.pooledDropped + firstRow * C
            dropout(.classifier).apply(from: pooled, to: classifierInput, count: B * C, firstIndex: firstRow * C)
            Linear.forward(output: ws.logits + firstRow * numLabels, input: classifierInput, weight: store.value("classifier.weight"),
                           bias: store.value("classifier.bias"), rows: B, inputs: C, outputs: numLabels)
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
    public func backward(dLogits: UnsafePointer<Float>? = nil, dPooled: UnsafePointer<Float>? = nil,
                         dLastHiddenState: UnsafePointer<Float>? = nil, gradientsReady: ((Int) -> Void)? = nil) {
        guard let ws = workspace, ws.training, lastTraining else {
            preconditionFailure("backward needs a preceding forward(training: true)")
        }
        precondition(!lastFirstTokenOnly || dLastHiddenState == nil,
                     "a forward for first tokens only has no gradient for the other rows of the last hidden state")
        let B = lastBatch, T = lastSequence, N = B * T
        let C = config.hiddenSize, I = config.intermediateSize, NH = config.numAttentionHeads

        // Head and pooler: dPooled → dCls rows.
        if let dPooled { ws.dPooled.update(from: dPooled, count: B * C) } else { ws.dPooled.update(repeating: 0, count: B * C) }
        if numLabels > 0, let dLogits {
            // dCls is free until the pooler's backward: it carries d(pooled after dropout) here.
            Linear.backward(dInput: ws.dCls, dWeight: store.gradient("classifier.weight"),
                            dBias: store.gradient("classifier.bias"), dOutput: dLogits, input: ws.pooledDropped,
                            weight: store.value("classifier.weight"), rows: B, inputs: C, outputs: numLabels)
            dropout(.classifier).apply(ws.dCls, count: B * C, firstIndex: 0)
            add(ws.dPooled, ws.dCls, count: B * C)
        }
        Tanh.backward(dInput: ws.dPooled, dOutput: ws.dPooled, output: ws.pooled, count: B * C)
        Linear.backward(dInput: ws.dCls, dWeight: store.gradient("pooler.dense.weight"),
                        dBias: store.gradient("pooler.dense.bias"), dOutput: ws.dPooled, input: ws.clsRows,
                        weight: store.value("pooler.dense.weight"), rows: B, inputs: C, outputs: C)
        peft?.backward(.pooler, layer: config.numHiddenLayers, input: ws.clsRows, dOutput: ws.dPooled, dInput: ws.dCls, rows: B)
        gradientsReady?(gradientOffset(from: "pooler.dense.weight"))

        var dY = ws.dHiddenA, dX = ws.dHiddenB
        if let dLastHiddenState { dY.update(from: dLastHiddenState, count: N * C) } else { dY.update(repeating: 0, count: N * C) }
        for b in 0..<B { add(dY + b * T * C, ws.dCls + b * C, count: C) }

        // Frozen layers at the bottom (and frozen embeddings) need no backward at all.
        let reach = backwardReach()
        for l in stride(from: config.numHiddenLayers - 1, through: reach.lowestLayer, by: -1) {
            let p = "encoder.layer.\(l)."
            // Unless nothing below trains (the lowest layer reached, over frozen embeddings), the
            // layer's input needs a gradient.
            let inputGradient = l > reach.lowestLayer || reach.embeddings
            if lastFirstTokenOnly && l == config.numHiddenLayers - 1 {
                backwardLastLayerFirstTokens(ws, batch: B, sequence: T, dY: dY, dX: dX, inputGradient: inputGradient)
                swap(&dX, &dY)
                gradientsReady?(gradientOffset(from: p + "attention.self.query.weight"))
                continue
            }
            let x = ws.hiddenIn(l), c = ws.cache(l)
            let dRes = ws.dResidual
            // LN2: dY → d(residual2)
            LayerNorm.backward(dInput: dRes, dGamma: store.gradient(p + "output.LayerNorm.weight"),
                               dBeta: store.gradient(p + "output.LayerNorm.bias"), dOutput: dY,
                               input: c.residual2, mean: c.mean2, rstd: c.rstd2,
                               gamma: store.value(p + "output.LayerNorm.weight"), rows: N, channels: C)
            // FFN out: d(residual2) → through its dropout → d(activated)
            let dAdapted = peft?.backwardFeedForward(layer: l, dOutput: dRes, rows: N) ?? dRes  // through a bottleneck adapter
            let dFeedForward = droppedBranch(dAdapted, dropout(.feedForwardOutput(l)), ws, count: N * C)
            Linear.backward(dInput: ws.dIntermediate, dWeight: store.gradient(p + "output.dense.weight"),
                            dBias: store.gradient(p + "output.dense.bias"), dOutput: dFeedForward, input: c.activated,
                            weight: store.value(p + "output.dense.weight"), rows: N, inputs: I, outputs: C)
            peft?.backward(.output, layer: l, input: c.activated, dOutput: dFeedForward, dInput: ws.dIntermediate, rows: N)
            GELU.backward(dInput: ws.dIntermediate, dOutput: ws.dIntermediate, input: c.intermediate,
                          bias: store.value(p + "intermediate.dense.bias"), rows: N, columns: I)
            // FFN in: d(hidden1) = residual branch (already in dRes) + dIntermediate · Wi
            Linear.backward(dInput: dRes, accumulateInput: true, dWeight: store.gradient(p + "intermediate.dense.weight"),
                            dBias: store.gradient(p + "intermediate.dense.bias"), dOutput: ws.dIntermediate,
                            input: c.hidden1, weight: store.value(p + "intermediate.dense.weight"),
                            rows: N, inputs: C, outputs: I)
            peft?.backward(.intermediate, layer: l, input: c.hidden1, dOutput: ws.dIntermediate, dInput: dRes, rows: N)
            // LN1: d(hidden1) → d(residual1), in place
            LayerNorm.backward(dInput: dRes, dGamma: store.gradient(p + "attention.output.LayerNorm.weight"),
                               dBeta: store.gradient(p + "attention.output.LayerNorm.bias"), dOutput: dRes,
                               input: c.residual1, mean: c.mean1, rstd: c.rstd1,
                               gamma: store.value(p + "attention.output.LayerNorm.weight"), rows: N, channels: C)
            // Attention output projection: d(residual1) → through its dropout → d(context)
            let dAttentionOutput = droppedBranch(dRes, dropout(.attentionOutput(l)), ws, count: N * C)
            Linear.backward(dInput: ws.dContext, dWeight: store.gradient(p + "attention.output.dense.weight"),
                            dBias: store.gradient(p + "attention.output.dense.bias"), dOutput: dAttentionOutput,
                            input: c.context, weight: store.value(p + "attention.output.dense.weight"),
                            rows: N, inputs: C, outputs: C)
            peft?.backward(.attentionOutput, layer: l, input: c.context, dOutput: dAttentionOutput, dInput: ws.dContext, rows: N)
            SelfAttention.backward(dQKV: ws.dQKV, dContext: ws.dContext, qkv: c.qkv, probabilities: c.probabilities,
                                   scratch: ws.dScores, batch: B, sequence: T, channels: C, heads: NH,
                                   dropout: dropout(.attentionProbabilities(l)), dropoutScratch: ws.dDroppedScores)
            // QKV projection: dX = residual branch d(residual1) + dQKV · Wqkv (or only the weights' gradients).
            if inputGradient { dX.update(from: dRes, count: N * C) }
            backwardQKV(layer: l, input: x, dQKV: ws.dQKV, dInput: inputGradient ? dX : nil, rows: N)
            swap(&dX, &dY)
            gradientsReady?(gradientOffset(from: p + "attention.self.query.weight"))
        }

        // Embeddings: dropout, LN, then scatter into the three tables.
        guard reach.embeddings else {
            gradientsReady?(0)
            return
        }
        dropout(.embeddings).apply(dY, count: N * C, firstIndex: 0)
        LayerNorm.backward(dInput: dY, dGamma: store.gradient("embeddings.LayerNorm.weight"),
                           dBeta: store.gradient("embeddings.LayerNorm.bias"), dOutput: dY,
                           input: ws.embeddingSum, mean: ws.embeddingMean, rstd: ws.embeddingRstd,
                           gamma: store.value("embeddings.LayerNorm.weight"), rows: N, channels: C)
        BertEmbeddingSum.backward(dWord: store.gradient("embeddings.word_embeddings.weight"),
                                  dPosition: store.gradient("embeddings.position_embeddings.weight"),
                                  dTokenType: store.gradient("embeddings.token_type_embeddings.weight"),
                                  dOutput: dY, inputIds: ws.inputIds, tokenTypeIds: ws.tokenTypeIds,
                                  batch: B, sequence: T, channels: C)
        gradientsReady?(0)
    }

    // MARK: - Helpers

    /// Backward of layer `l`'s fused query/key/value product (and its LoRA branches) over `rows`
    /// tokens: dInput += dQKV · Wqkv when given (it holds the residual branch's gradient), and
    /// the trainable weights' and biases' gradients.
    func backwardQKV(layer l: Int, input x: UnsafePointer<Float>, dQKV: UnsafePointer<Float>,
                     dInput: UnsafeMutablePointer<Float>?, rows N: Int) {
        let C = config.hiddenSize
        let qkv = qkvGradients(layer: l)
        Linear.backward(dInput: dInput, accumulateInput: true, dWeight: qkv.weight, dBias: qkv.bias,
                        dOutput: dQKV, input: x, weight: store.value("encoder.layer.\(l).attention.self.query.weight"),
                        rows: N, inputs: C, outputs: 3 * C)
        accumulatePartialBiases(qkv.partialBiases, dQKV: dQKV, rows: N)
        peft?.backward(.qkv, layer: l, input: x, dOutput: dQKV, dInput: dInput, rows: N)
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
        case attentionProbabilities(Int), attentionOutput(Int), feedForwardOutput(Int)

        var id: UInt64 {
            switch self {
            case .embeddings: return 1
            case .classifier: return 2
            case .attentionProbabilities(let l): return 100 + 10 * UInt64(l) + 1
            case .attentionOutput(let l): return 100 + 10 * UInt64(l) + 2
            case .feedForwardOutput(let l): return 100 + 10 * UInt64(l) + 3
            }
        }
    }

    /// The dropout of `site` for the current pass: Hugging Face's probabilities in training
    /// (`classifier_dropout` falling back to `hidden_dropout_prob`), none in inference.
    func dropout(_ site: DropoutSite) -> Dropout {
        guard lastTraining else { return Dropout(probability: 0, key: 0) }
        let probability: Float
        switch site {
        case .attentionProbabilities: probability = config.attentionProbsDropoutProb
        case .classifier: probability = config.classifierDropout ?? config.hiddenDropoutProb
        default: probability = config.hiddenDropoutProb
        }
        return Dropout(probability: probability, key: Dropout.key(seed: lastDropoutSeed, site: site.id))
    }

    /// The gradient of a residual branch that went through `dropout`: `gradient` itself when the
    /// dropout is the identity, else its masked copy in the workspace (the residual keeps `gradient`).
    private func droppedBranch(_ gradient: UnsafeMutablePointer<Float>, _ dropout: Dropout, _ ws: BertWorkspace,
                               count: Int) -> UnsafeMutablePointer<Float> {
        if dropout.isIdentity { return gradient }
        dropout.apply(from: gradient, to: ws.dBranch, count: count, firstIndex: 0)
        return ws.dBranch
    }

    /// The workspace for this shape, planned anew only when the shape outgrows it.
    private func workspaceFor(batch: Int, sequence: Int, training: Bool) -> BertWorkspace {
        if let ws = workspace, ws.fits(batch: batch, sequence: sequence, training: training) { return ws }
        let maxBatch = max(batch, workspace?.maxBatch ?? 0)
        let maxSequence = max(sequence, workspace?.maxSequence ?? 0)
        workspace = nil  // free the old plan before making the new one
        let ws = BertWorkspace(config: config, labels: numLabels, maxBatch: maxBatch,
                               maxSequence: maxSequence, training: training)
        workspace = ws
        return ws
    }

    /// y += x, elementwise.
    @inline(__always)
    private func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        VectorMath.add(y, x, count)
    }
}

import FTCore

/// The last encoder layer for the first token of each sequence only.
///
/// The pooler reads one row of the last hidden state per sequence (the `[CLS]` token), so a
/// classification head's logits, and their gradients, depend on the other rows of the last layer
/// only through its keys and values. With `forward(firstTokenOnly: true)` the last layer computes
/// its fused query/key/value product for every token, then attention for the first query only,
/// and the output projection, layer norms and feed-forward block on one row per sequence: 13% of
/// an all-MiniLM-L6-v2 pass at 128 tokens is not computed at all. Dropout masks use the indices
/// of the full pass, so the logits and gradients are the full pass's up to float rounding
/// (`FirstTokenLayerTests`).
///
/// In training the compact rows live in the layer cache at the sequence's index instead of its
/// first token's (sequence `g`'s row is row `g` of `residual1`, `hidden1`, …), and its
/// probabilities at `(g, head)` of a `(B, NH, T)` block; in inference, at the slice's own rows.
extension BertModel {
    /// Whether the last layer can run for first tokens only: no adapter is attached to anything
    /// of that layer after its query/key/value product (bottleneck adapters, or LoRA on the
    /// output projection or the feed-forward block, keep per-token state of their own).
    public var computesFirstTokensOnly: Bool {
        guard let peft else { return true }
        if peft.bottleneck != nil { return false }
        guard let lora = peft.lora else { return true }
        let last = config.numHiddenLayers - 1
        return lora.targets[last].allSatisfy { $0.projection == .qkv }
    }

    /// The last layer's forward for batch rows `firstRow ..< firstRow + B` after its fused
    /// query/key/value product (in `full.qkv`, `full` being the slice's view of the layer cache);
    /// writes each sequence's first row of the last hidden state (the others are left as they are).
    func forwardLastLayerFirstTokens(_ ws: BertWorkspace, slice full: BertWorkspace.LayerCache, firstRow: Int,
                                     batch B: Int, sequence T: Int) {
        let C = config.hiddenSize, I = config.intermediateSize, NH = config.numAttentionHeads
        let l = config.numHiddenLayers - 1, p = "encoder.layer.\(l)."
        let o = firstRow * T
        let x = ws.hiddenIn(l) + o * C, y = ws.hiddenOut(l) + o * C
        // Training keeps one cache per layer: the compact rows go at the sequence index, where
        // backward reads them as one (B, C) block. Inference shares one cache between layers,
        // and slices run their layers unsynchronised: each keeps to its own token rows.
        let first = ws.cache(l).offset(tokens: ws.training ? firstRow : o, channels: C, intermediate: I,
                                       probabilities: ws.training ? firstRow * NH * T : 0)
        SelfAttention.forwardFirstQuery(context: first.context,
                                        probabilities: ws.training ? first.probabilities : full.probabilities,
                                        qkv: full.qkv, attentionMask: ws.attentionMask + o,
                                        batch: B, sequence: T, channels: C, heads: NH,
                                        dropout: dropout(.attentionProbabilities(l)),
                                        dropoutScratch: ws.droppedProbabilities + firstRow * T * T,
                                        dropoutIndexOffset: firstRow * NH * T * T, keepProbabilities: ws.training)
        Linear.forward(output: first.residual1, input: first.context, weight: store.value(p + "attention.output.dense.weight"),
                       bias: store.value(p + "attention.output.dense.bias"), rows: B, inputs: C, outputs: C)
        let attentionOutputDropout = dropout(.attentionOutput(l))
        for b in 0..<B {
            attentionOutputDropout.apply(first.residual1 + b * C, count: C, firstIndex: (o + b * T) * C)
            VectorMath.add(first.residual1 + b * C, x + b * T * C, C)
        }
        LayerNorm.forward(output: first.hidden1, mean: first.mean1, rstd: first.rstd1, input: first.residual1,
                          gamma: store.value(p + "attention.output.LayerNorm.weight"),
                          beta: store.value(p + "attention.output.LayerNorm.bias"),
                          rows: B, channels: C, epsilon: config.layerNormEps)
        Linear.forward(output: first.intermediate, input: first.hidden1, weight: store.value(p + "intermediate.dense.weight"),
                       bias: nil, rows: B, inputs: C, outputs: I)
        GELU.forward(output: first.activated, input: first.intermediate, bias: store.value(p + "intermediate.dense.bias"),
                     rows: B, columns: I)
        Linear.forward(output: first.residual2, input: first.activated, weight: store.value(p + "output.dense.weight"),
                       bias: store.value(p + "output.dense.bias"), rows: B, inputs: I, outputs: C)
        let feedForwardDropout = dropout(.feedForwardOutput(l))
        for b in 0..<B {
            feedForwardDropout.apply(first.residual2 + b * C, count: C, firstIndex: (o + b * T) * C)
            VectorMath.add(first.residual2 + b * C, first.hidden1 + b * C, C)
            LayerNorm.forward(output: y + b * T * C, mean: first.mean2 + b, rstd: first.rstd2 + b,
                              input: first.residual2 + b * C,
                              gamma: store.value(p + "output.LayerNorm.weight"),
                              beta: store.value(p + "output.LayerNorm.bias"),
                              rows: 1, channels: C, epsilon: config.layerNormEps)
        }
    }

    /// The last layer's backward after `forwardLastLayerFirstTokens` over the whole batch:
    /// `dY (B, T, C)` holds the gradient of the first rows (the others are ignored); `dX` gets
    /// the layer input's gradient when `inputGradient`. Uses `dX` as scratch either way.
    func backwardLastLayerFirstTokens(_ ws: BertWorkspace, batch B: Int, sequence T: Int,
                                      dY: UnsafePointer<Float>, dX: UnsafeMutablePointer<Float>, inputGradient: Bool) {
        let C = config.hiddenSize, I = config.intermediateSize, NH = config.numAttentionHeads
        let l = config.numHiddenLayers - 1, p = "encoder.layer.\(l)."
        let c = ws.cache(l)  // compact rows at the sequence index (offset 0)
        let dRes = ws.dResidual, dBranch = ws.dBranch
        // The first rows of dY, packed (B, C) into dX, which is free until the input gradient.
        let dFirst = dX
        for b in 0..<B { (dFirst + b * C).update(from: dY + b * T * C, count: C) }
        LayerNorm.backward(dInput: dRes, dGamma: store.gradient(p + "output.LayerNorm.weight"),
                           dBeta: store.gradient(p + "output.LayerNorm.bias"), dOutput: dFirst,
                           input: c.residual2, mean: c.mean2, rstd: c.rstd2,
                           gamma: store.value(p + "output.LayerNorm.weight"), rows: B, channels: C)
        let dFeedForward = droppedFirstRows(dRes, dropout(.feedForwardOutput(l)), into: dBranch, batch: B, sequence: T)
        Linear.backward(dInput: ws.dIntermediate, dWeight: store.gradient(p + "output.dense.weight"),
                        dBias: store.gradient(p + "output.dense.bias"), dOutput: dFeedForward, input: c.activated,
                        weight: store.value(p + "output.dense.weight"), rows: B, inputs: I, outputs: C)
        GELU.backward(dInput: ws.dIntermediate, dOutput: ws.dIntermediate, input: c.intermediate,
                      bias: store.value(p + "intermediate.dense.bias"), rows: B, columns: I)
        Linear.backward(dInput: dRes, accumulateInput: true, dWeight: store.gradient(p + "intermediate.dense.weight"),
                        dBias: store.gradient(p + "intermediate.dense.bias"), dOutput: ws.dIntermediate,
                        input: c.hidden1, weight: store.value(p + "intermediate.dense.weight"),
                        rows: B, inputs: C, outputs: I)
        LayerNorm.backward(dInput: dRes, dGamma: store.gradient(p + "attention.output.LayerNorm.weight"),
                           dBeta: store.gradient(p + "attention.output.LayerNorm.bias"), dOutput: dRes,
                           input: c.residual1, mean: c.mean1, rstd: c.rstd1,
                           gamma: store.value(p + "attention.output.LayerNorm.weight"), rows: B, channels: C)
        let dAttentionOutput = droppedFirstRows(dRes, dropout(.attentionOutput(l)), into: dBranch, batch: B, sequence: T)
        Linear.backward(dInput: ws.dContext, dWeight: store.gradient(p + "attention.output.dense.weight"),
                        dBias: store.gradient(p + "attention.output.dense.bias"), dOutput: dAttentionOutput,
                        input: c.context, weight: store.value(p + "attention.output.dense.weight"),
                        rows: B, inputs: C, outputs: C)
        SelfAttention.backwardFirstQuery(dQKV: ws.dQKV, dContext: ws.dContext, qkv: c.qkv, probabilities: c.probabilities,
                                         batch: B, sequence: T, channels: C, heads: NH,
                                         dropout: dropout(.attentionProbabilities(l)))
        // The residual branch reaches the input at the first rows only.
        if inputGradient {
            dX.update(repeating: 0, count: B * T * C)
            for b in 0..<B { (dX + b * T * C).update(from: dRes + b * C, count: C) }
        }
        backwardQKV(layer: l, input: ws.hiddenIn(l), dQKV: ws.dQKV, dInput: inputGradient ? dX : nil, rows: B * T)
    }

    /// The first-row gradient `gradient (B, C)` through a dropout of the full layout (sequence
    /// `g`'s row has the indices of token `g·T`): `gradient` itself when the dropout is the
    /// identity, else its masked copy in `scratch`.
    private func droppedFirstRows(_ gradient: UnsafeMutablePointer<Float>, _ dropout: Dropout,
                                  into scratch: UnsafeMutablePointer<Float>, batch B: Int, sequence T: Int) -> UnsafeMutablePointer<Float> {
        if dropout.isIdentity { return gradient }
        let C = config.hiddenSize
        for b in 0..<B {
            dropout.apply(from: gradient + b * C, to: scratch + b * C, count: C, firstIndex: b * T * C)
        }
        return scratch
    }
}

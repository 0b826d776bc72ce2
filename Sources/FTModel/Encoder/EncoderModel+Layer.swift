import FTCore

/// One encoder layer (post-LayerNorm: self-attention, residual, LayerNorm, feed-forward, residual,
/// LayerNorm), forward and backward, written once for every family and for both row sets it runs on:
///
/// - every token (`firstTokensOnly` false);
/// - each sequence's first token only, after the fused query/key/value product of every token. The
///   head reads one row of the last hidden state per sequence, so a classifier's logits, and their
///   gradients, depend on the last layer's other rows only through its keys and values: attention
///   runs for the first query, the rest of the layer on one row per sequence (13% of an
///   all-MiniLM-L6-v2 pass at 128 tokens is not computed). Dropout masks use the indices of the
///   full pass, so the results are the full pass's up to float rounding (`FirstTokenLayerTests`).
///
/// After the product the layer works on `LayerRows`: R rows, one every `stride` tokens of the
/// full `(B, T)` layout. In training the compact first-token rows live in the layer cache at the
/// sequence's index (sequence `g`'s row is row `g` of `residual1`, `hidden1`, …) and their
/// probabilities at `(g, head)` of a `(B, NH, T)` block; in inference, at the slice's own rows
/// (one cache serves every layer there and slices run unsynchronised).
extension EncoderModel {
    /// The rows a layer computes after its query/key/value product.
    struct LayerRows {
        /// R: B·T, or B.
        let count: Int
        /// Tokens of the full layout between consecutive rows: 1, or T.
        let stride: Int
        /// The full layout's token index of the first row (dropout mask indices).
        let firstToken: Int

        var isEveryToken: Bool { stride == 1 }

        /// Token index in the full layout of row `r`.
        func token(_ r: Int) -> Int { firstToken + r * stride }
    }

    /// Whether the last layer can run for first tokens only: the model has a head reading the
    /// first token, and no adapter is attached to anything of that layer after its
    /// query/key/value product (bottleneck adapters, or LoRA on the output projection or the
    /// feed-forward block, keep per-token dropout streams of their own).
    public var computesFirstTokensOnly: Bool {
        guard hasPooler else { return false }
        guard let peft else { return true }
        if peft.bottleneck != nil { return false }
        guard let lora = peft.lora else { return true }
        let last = config.numHiddenLayers - 1
        return lora.targets[last].allSatisfy { $0.projection == .qkv }
    }

    // MARK: - Forward

    /// Layer `l`'s forward for batch rows `firstRow ..< firstRow + B` (hidden state `hiddenIn(l)`
    /// → `hiddenOut(l)`); with `firstTokensOnly`, only each sequence's first output row is written.
    func forwardLayer(_ l: Int, _ ws: EncoderWorkspace, firstRow: Int, batch B: Int, sequence T: Int, firstTokensOnly: Bool) {
        let N = B * T, C = config.hiddenSize, I = config.intermediateSize
        let NH = config.heads(layer: l), A = config.attentionWidth(layer: l)  // NH·d = A (C unless pruned)
        let P = parameters.layers[l]
        let o = firstRow * T  // first token of the slice
        let x = ws.hiddenIn(l) + o * C, y = ws.hiddenOut(l) + o * C
        // Training caches every head's probabilities; inference gives each slice one (T, T) scratch.
        let full = ws.sliceCache(
            l, tokens: o, channels: C, attention: A, intermediate: I,
            probabilities: firstRow * (ws.training ? NH : 1) * T * T)
        // Inference on a quantised model runs the four products in INT8 (`EncoderModel+Int8`).
        let q = ws.training ? nil : int8Layers?[l]
        // A float32 inference forward runs them on prepared weights (`EncoderModel+Float32Inference`).
        let f = preparedLayer(l, ws)
        if let q {
            Int8Linear.forward(output: full.qkv, input: x, weight: q.qkv, bias: P.qkvBias, rows: N)
        } else if let f {
            PreparedLinear.forward(output: full.qkv, input: x, weights: f.qkv, bias: P.qkvBias, rows: N)
        } else {
            Linear.forward(output: full.qkv, input: x, weight: P.qkvWeight, bias: P.qkvBias, rows: N, inputs: C, outputs: 3 * A, precision: precision)
        }
        peft?.forward(.qkv, layer: l, input: x, output: full.qkv, firstToken: o, rows: N)

        let rows: LayerRows
        let c: EncoderWorkspace.LayerCache
        let cacheRow: Int  // the first row of the slice in the caches the PEFT modules keep
        if firstTokensOnly {
            rows = LayerRows(count: B, stride: T, firstToken: o)
            cacheRow = ws.training ? firstRow : o
            c = ws.sliceCache(
                l, tokens: cacheRow, channels: C, attention: A, intermediate: I,
                probabilities: ws.training ? firstRow * NH * T : 0)
            SelfAttention.forwardFirstQuery(
                context: c.context, probabilities: ws.training ? c.probabilities : full.probabilities,
                qkv: full.qkv, attentionMask: ws.attentionMask + o,
                batch: B, sequence: T, channels: A, heads: NH,
                dropout: dropout(.attentionProbabilities(l)),
                dropoutScratch: ws.droppedProbabilities + firstRow * T * T,
                dropoutIndexOffset: firstRow * NH * T * T, keepProbabilities: ws.training)
        } else {
            rows = LayerRows(count: N, stride: 1, firstToken: o)
            cacheRow = o
            c = full
            SelfAttention.forward(
                context: c.context, probabilities: c.probabilities, qkv: c.qkv,
                attentionMask: ws.attentionMask + o, batch: B, sequence: T, channels: A, heads: NH,
                dropout: dropout(.attentionProbabilities(l)),
                dropoutScratch: ws.droppedProbabilities + firstRow * T * T,
                dropoutIndexOffset: firstRow * NH * T * T, keepProbabilities: ws.training)
        }
        let R = rows.count
        if let q {
            Int8Linear.forward(output: c.residual1, input: c.context, weight: q.attentionOutput, bias: P.attentionOutput.bias.value, rows: R)
        } else if let f {
            PreparedLinear.forward(output: c.residual1, input: c.context, weights: f.attentionOutput, bias: P.attentionOutput.bias.value, rows: R)
        } else {
            Linear.forward(
                output: c.residual1, input: c.context, weight: P.attentionOutput.weight.value,
                bias: P.attentionOutput.bias.value, rows: R, inputs: A, outputs: C, precision: precision)
        }
        peft?.forward(.attentionOutput, layer: l, input: c.context, output: c.residual1, firstToken: cacheRow, rows: R)
        applyDropout(dropout(.attentionOutput(l)), to: c.residual1, rows: rows)
        addResidual(c.residual1, from: x, rows: rows)
        LayerNorm.forward(
            output: c.hidden1, mean: c.mean1, rstd: c.rstd1, input: c.residual1,
            gamma: P.attentionNorm.gamma.value, beta: P.attentionNorm.beta.value,
            rows: R, channels: C, epsilon: config.layerNormEps)
        if let q, peft == nil {
            // INT8 without adapters: both products and GELU chunk by chunk, GELU's output never a
            // float32 buffer (`Int8FeedForward`; the same floats as the steps below).
            Int8FeedForward.forward(
                output: c.residual2, input: c.hidden1, intermediate: q.intermediate, intermediateBias: P.intermediate.bias.value,
                outputWeight: q.output, outputBias: P.output.bias.value, rows: R)
        } else {
            // The intermediate bias joins in GELU's pass, not as rows copied in before the product.
            if let q {
                Int8Linear.forward(output: c.intermediate, input: c.hidden1, weight: q.intermediate, bias: nil, rows: R)
            } else if let f {
                PreparedLinear.forward(output: c.intermediate, input: c.hidden1, weights: f.intermediate, bias: nil, rows: R)
            } else {
                Linear.forward(
                    output: c.intermediate, input: c.hidden1, weight: P.intermediate.weight.value,
                    bias: nil, rows: R, inputs: C, outputs: I, precision: precision)
            }
            peft?.forward(.intermediate, layer: l, input: c.hidden1, output: c.intermediate, firstToken: cacheRow, rows: R)
            GELU.forward(output: c.activated, input: c.intermediate, bias: P.intermediate.bias.value, rows: R, columns: I)
            if let q {
                Int8Linear.forward(output: c.residual2, input: c.activated, weight: q.output, bias: P.output.bias.value, rows: R)
            } else if let f {
                PreparedLinear.forward(output: c.residual2, input: c.activated, weights: f.output, bias: P.output.bias.value, rows: R)
            } else {
                Linear.forward(
                    output: c.residual2, input: c.activated, weight: P.output.weight.value,
                    bias: P.output.bias.value, rows: R, inputs: I, outputs: C, precision: precision)
            }
            peft?.forward(.output, layer: l, input: c.activated, output: c.residual2, firstToken: cacheRow, rows: R)
        }
        applyDropout(dropout(.feedForwardOutput(l)), to: c.residual2, rows: rows)
        peft?.forwardFeedForward(layer: l, branch: c.residual2, firstToken: cacheRow, rows: R)
        VectorMath.add(c.residual2, c.hidden1, R * C)
        if rows.isEveryToken {
            LayerNorm.forward(
                output: y, mean: c.mean2, rstd: c.rstd2, input: c.residual2,
                gamma: P.outputNorm.gamma.value, beta: P.outputNorm.beta.value,
                rows: R, channels: C, epsilon: config.layerNormEps)
        } else {
            for r in 0..<R {
                LayerNorm.forward(
                    output: y + r * T * C, mean: c.mean2 + r, rstd: c.rstd2 + r, input: c.residual2 + r * C,
                    gamma: P.outputNorm.gamma.value, beta: P.outputNorm.beta.value,
                    rows: 1, channels: C, epsilon: config.layerNormEps)
            }
        }
    }

    // MARK: - Backward

    /// Layer `l`'s backward over the whole batch: `dY (B, T, C)` is the gradient of its output
    /// (with `firstTokensOnly`, only each sequence's first row is read); `dX` gets the gradient of
    /// its input when `inputGradient`, and is scratch either way.
    func backwardLayer(
        _ l: Int, _ ws: EncoderWorkspace, batch B: Int, sequence T: Int,
        dY: UnsafeMutablePointer<Float>, dX: UnsafeMutablePointer<Float>, inputGradient: Bool, firstTokensOnly: Bool
    ) {
        let N = B * T, C = config.hiddenSize, I = config.intermediateSize
        let NH = config.heads(layer: l), A = config.attentionWidth(layer: l)
        let P = parameters.layers[l]
        let c = ws.cache(l)  // every token's rows, or the compact first rows at the sequence index (offset 0)
        let rows = firstTokensOnly ? LayerRows(count: B, stride: T, firstToken: 0) : LayerRows(count: N, stride: 1, firstToken: 0)
        let R = rows.count, dRes = ws.dResidual
        // LN2: dY → d(residual2). The first rows of dY are packed (B, C) into dX, free until the input gradient.
        var dOutput = UnsafePointer(dY)
        if !rows.isEveryToken {
            for r in 0..<R { (dX + r * C).update(from: dY + r * T * C, count: C) }
            dOutput = UnsafePointer(dX)
        }
        LayerNorm.backward(
            dInput: dRes, dGamma: P.outputNorm.gamma.gradient, dBeta: P.outputNorm.beta.gradient,
            dOutput: dOutput, input: c.residual2, mean: c.mean2, rstd: c.rstd2,
            gamma: P.outputNorm.gamma.value, rows: R, channels: C)
        // FFN out: d(residual2) → through a bottleneck adapter and the dropout → d(activated)
        let dAdapted = peft?.backwardFeedForward(layer: l, dOutput: dRes, rows: R) ?? dRes
        let dFeedForward = dropped(dAdapted, dropout(.feedForwardOutput(l)), rows: rows, scratch: ws.dBranch)
        Linear.backward(
            dInput: ws.dIntermediate, dWeight: P.output.weight.gradient, dBias: P.output.bias.gradient,
            dOutput: dFeedForward, input: c.activated, weight: P.output.weight.value, rows: R, inputs: I, outputs: C, precision: precision)
        peft?.backward(.output, layer: l, input: c.activated, dOutput: dFeedForward, dInput: ws.dIntermediate, rows: R)
        GELU.backward(
            dInput: ws.dIntermediate, dOutput: ws.dIntermediate, input: c.intermediate,
            bias: P.intermediate.bias.value, rows: R, columns: I)
        // FFN in: d(hidden1) = residual branch (already in dRes) + dIntermediate · Wi
        Linear.backward(
            dInput: dRes, accumulateInput: true, dWeight: P.intermediate.weight.gradient,
            dBias: P.intermediate.bias.gradient, dOutput: ws.dIntermediate, input: c.hidden1,
            weight: P.intermediate.weight.value, rows: R, inputs: C, outputs: I, precision: precision)
        peft?.backward(.intermediate, layer: l, input: c.hidden1, dOutput: ws.dIntermediate, dInput: dRes, rows: R)
        // LN1: d(hidden1) → d(residual1), in place
        LayerNorm.backward(
            dInput: dRes, dGamma: P.attentionNorm.gamma.gradient, dBeta: P.attentionNorm.beta.gradient,
            dOutput: dRes, input: c.residual1, mean: c.mean1, rstd: c.rstd1,
            gamma: P.attentionNorm.gamma.value, rows: R, channels: C)
        // Attention output projection: d(residual1) → through its dropout → d(context)
        let dAttentionOutput = dropped(dRes, dropout(.attentionOutput(l)), rows: rows, scratch: ws.dBranch)
        Linear.backward(
            dInput: ws.dContext, dWeight: P.attentionOutput.weight.gradient, dBias: P.attentionOutput.bias.gradient,
            dOutput: dAttentionOutput, input: c.context, weight: P.attentionOutput.weight.value,
            rows: R, inputs: A, outputs: C, precision: precision)
        peft?.backward(.attentionOutput, layer: l, input: c.context, dOutput: dAttentionOutput, dInput: ws.dContext, rows: R)
        accumulateHeadMaskGradient(layer: l, context: c.context, dContext: ws.dContext, rows: R)
        if rows.isEveryToken {
            SelfAttention.backward(
                dQKV: ws.dQKV, dContext: ws.dContext, qkv: c.qkv, probabilities: c.probabilities,
                scratch: ws.dScores, batch: B, sequence: T, channels: A, heads: NH,
                dropout: dropout(.attentionProbabilities(l)), dropoutScratch: ws.dDroppedScores)
        } else {
            SelfAttention.backwardFirstQuery(
                dQKV: ws.dQKV, dContext: ws.dContext, qkv: c.qkv, probabilities: c.probabilities,
                batch: B, sequence: T, channels: A, heads: NH,
                dropout: dropout(.attentionProbabilities(l)))
        }
        // QKV projection: dX = residual branch d(residual1) + dQKV · Wqkv (or only the weights' gradients).
        // The residual branch of a first-token layer reaches the input at the first rows only.
        if inputGradient {
            if rows.isEveryToken {
                dX.update(from: dRes, count: N * C)
            } else {
                dX.update(repeating: 0, count: N * C)
                for r in 0..<R { (dX + r * T * C).update(from: dRes + r * C, count: C) }
            }
        }
        backwardQKV(layer: l, input: ws.hiddenIn(l), dQKV: ws.dQKV, dInput: inputGradient ? dX : nil, rows: N)
    }

    /// Backward of layer `l`'s fused query/key/value product (and its LoRA branches) over `rows`
    /// tokens: dInput += dQKV · Wqkv when given (it holds the residual branch's gradient), and
    /// the trainable weights' and biases' gradients.
    func backwardQKV(
        layer l: Int, input x: UnsafePointer<Float>, dQKV: UnsafePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?, rows N: Int
    ) {
        let C = config.hiddenSize, A = config.attentionWidth(layer: l), P = parameters.layers[l]
        Linear.backward(
            dInput: dInput, accumulateInput: true, dWeight: P.qkvWeightGradient, dBias: P.qkvBiasGradient,
            dOutput: dQKV, input: x, weight: P.qkvWeight, rows: N, inputs: C, outputs: 3 * A, precision: precision)
        // dBias (A) += column sums of part k of dQKV (N, 3A), for each partially trained bias.
        for (k, dBias) in P.partialBiasGradients {
            for r in 0..<N { VectorMath.add(dBias, dQKV + r * 3 * A + k * A, A) }
        }
        peft?.backward(.qkv, layer: l, input: x, dOutput: dQKV, dInput: dInput, rows: N)
    }

    // MARK: - Row helpers

    /// Dropout over `rows` rows of `buffer` (R, C), each with its full-layout mask indices.
    private func applyDropout(_ dropout: Dropout, to buffer: UnsafeMutablePointer<Float>, rows: LayerRows) {
        let C = config.hiddenSize
        if rows.isEveryToken {
            dropout.apply(buffer, count: rows.count * C, firstIndex: rows.firstToken * C)
        } else if !dropout.isIdentity {
            for r in 0..<rows.count { dropout.apply(buffer + r * C, count: C, firstIndex: rows.token(r) * C) }
        }
    }

    /// branch (R, C) += the layer input's rows (one every `stride` tokens of `input`).
    private func addResidual(_ branch: UnsafeMutablePointer<Float>, from input: UnsafePointer<Float>, rows: LayerRows) {
        let C = config.hiddenSize
        if rows.isEveryToken {
            VectorMath.add(branch, input, rows.count * C)
        } else {
            for r in 0..<rows.count { VectorMath.add(branch + r * C, input + r * rows.stride * C, C) }
        }
    }

    /// The gradient `gradient (R, C)` of a residual branch that went through `dropout`: `gradient`
    /// itself when the dropout is the identity, else its masked copy in `scratch` (the residual
    /// keeps `gradient`).
    private func dropped(
        _ gradient: UnsafeMutablePointer<Float>, _ dropout: Dropout, rows: LayerRows,
        scratch: UnsafeMutablePointer<Float>
    ) -> UnsafeMutablePointer<Float> {
        if dropout.isIdentity { return gradient }
        let C = config.hiddenSize
        if rows.isEveryToken {
            dropout.apply(from: gradient, to: scratch, count: rows.count * C, firstIndex: rows.firstToken * C)
        } else {
            for r in 0..<rows.count {
                dropout.apply(from: gradient + r * C, to: scratch + r * C, count: C, firstIndex: rows.token(r) * C)
            }
        }
        return scratch
    }
}

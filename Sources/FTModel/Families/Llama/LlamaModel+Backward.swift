import FTCore

extension LlamaModel {
    /// Backward of the last `forwardLogits(training: true)` from dLogits (B, T, V): gradients
    /// accumulate into `store.gradients` (trainable tensors only). `gradientsReady(offset)` is
    /// called after each layer (from the top down) with the gradient-buffer offset from which on
    /// every gradient is final, and with 0 at the end (tied embeddings take gradients from the
    /// output projection and from the input, so they are final last).
    /// Layers below the lowest trainable tensor are skipped (a frozen bottom).
    /// `dLastHiddenState` (B, T, C), the gradient of the final norm's output, is added when given.
    public func backwardLogits(
        dLogits: UnsafePointer<Float>?, dLastHiddenState: UnsafePointer<Float>? = nil, gradientsReady: ((Int) -> Void)? = nil
    ) {
        guard let ws = workspace, ws.training, lastTraining else {
            preconditionFailure("backward needs a preceding forward(training: true)")
        }
        refreshSlots()
        let B = ws.batch, T = ws.sequence, N = B * T
        let C = config.hiddenSize, F = config.intermediateSize, V = config.vocabSize
        let QW = config.queryWidth, W = QW + 2 * config.keyValueWidth
        let shape = CausalAttention.Shape(
            heads: config.numAttentionHeads, keyValueHeads: config.numKeyValueHeads, headDimension: config.headDim)
        let lowest = lowestLayerNeedingInputGradient
        let dRes = ws.dResidual
        var spans = ModelSpanMarks(spanRecorder, backward: true)

        // Output projection and final norm.
        if let dLogits, let dHead = head.gradient {
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: true, transB: false, m: V, n: C, k: N, a: dLogits, lda: V, b: ws.finalNormed, ldb: C,
                beta: 1, c: dHead, ldc: C)
        }
        if !config.tieWordEmbeddings, let dHead = head.gradient {
            gradientsReady?(dHead - store.gradients.baseAddress!)
        }
        guard lowest < config.numHiddenLayers || finalNorm.gradient != nil else {
            gradientsReady?(0)
            spans.end(.head)
            return
        }
        if let dLogits {
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: false, m: N, n: C, k: V, a: dLogits, lda: V, b: head.value, ldb: C,
                beta: 0, c: ws.dNormed, ldc: C)
        } else {
            ws.dNormed.update(repeating: 0, count: N * C)
        }
        if let dLastHiddenState { VectorMath.add(ws.dNormed, dLastHiddenState, N * C) }
        RMSNorm.backward(
            dInput: dRes, dWeight: finalNorm.gradient, dOutput: ws.dNormed, input: ws.output, rstd: ws.finalRstd,
            weight: finalNorm.value, rows: N, channels: C)
        spans.end(.head)

        for l in stride(from: config.numHiddenLayers - 1, through: 0, by: -1) {
            let a = ws.layer(l), s = slots[l]
            let needInput = l >= lowest  // does anything below this layer's weights need dRes?
            // Feed-forward block: next = middle + down(hidden). dRes is d next, and d middle after.
            linearBackward(
                [.down], layer: l, slots: s, fusedGradient: s.weights[6].gradient, input: a.hidden, inputs: F,
                dOutput: dRes, width: C, dInput: ws.dHidden, rows: N)
            SwiGLU.backward(dGateUp: ws.dGateUp, dOutput: ws.dHidden, gateUp: a.gateUp, rows: N, features: F)
            linearBackward(
                [.gate, .up], layer: l, slots: s, fusedGradient: s.gateUpGradient, input: a.normed2, inputs: C,
                dOutput: ws.dGateUp, width: 2 * F, dInput: ws.dNormed, rows: N)
            RMSNorm.backward(
                dInput: dRes, accumulateInput: true, dWeight: s.postAttentionNorm.gradient, dOutput: ws.dNormed,
                input: a.middle, rstd: a.rstd2, weight: s.postAttentionNorm.value, rows: N, channels: C)
            // Attention block: middle = input + o(context).
            linearBackward(
                [.o], layer: l, slots: s, fusedGradient: s.weights[3].gradient, input: a.context, inputs: QW,
                dOutput: dRes, width: C, dInput: ws.dContext, rows: N)
            CausalAttention.backward(
                dQKV: ws.dQKV, dContext: ws.dContext, qkv: a.qkv, probabilities: a.probabilities,
                scratch: ws.attentionScratch, batch: B, sequence: T, shape: shape)
            cosTable.withUnsafeBufferPointer { cos in
                sinTable.withUnsafeBufferPointer { sin in
                    RotaryEmbedding.apply(
                        ws.dQKV, rows: N, stride: W, sequence: T, heads: config.numAttentionHeads + config.numKeyValueHeads,
                        headDimension: config.headDim, cos: cos.baseAddress!, sin: sin.baseAddress!, inverse: true)
                }
            }
            linearBackward(
                [.q, .k, .v], layer: l, slots: s, fusedGradient: s.qkvGradient, input: a.normed1, inputs: C,
                dOutput: ws.dQKV, width: W, dInput: needInput || s.inputNorm.gradient != nil ? ws.dNormed : nil, rows: N)
            if needInput {
                RMSNorm.backward(
                    dInput: dRes, accumulateInput: true, dWeight: s.inputNorm.gradient, dOutput: ws.dNormed,
                    input: a.input, rstd: a.rstd1, weight: s.inputNorm.value, rows: N, channels: C)
            } else if let dWeight = s.inputNorm.gradient {
                // Only the norm's own weight gradient: dx goes to a scratch nobody reads.
                RMSNorm.backward(
                    dInput: ws.dGateUp, dWeight: dWeight, dOutput: ws.dNormed, input: a.input, rstd: a.rstd1,
                    weight: s.inputNorm.value, rows: N, channels: C)
            }
            if let first = firstGradientOffset(layer: l) { gradientsReady?(first) }
            spans.end(.layer(l))
            if !needInput { break }
        }
        if let dEmbedding = embedding.gradient {
            for n in 0..<N {
                VectorMath.add(dEmbedding + Int(ws.inputIds[n]) * C, dRes + n * C, C)
            }
        }
        gradientsReady?(0)
        if embedding.gradient != nil { spans.end(.embeddings) }
    }

    /// The gradient-buffer offset of layer `l`'s first trainable tensor, nil when none is.
    func firstGradientOffset(layer l: Int) -> Int? {
        store.gradientSpan(prefix: LlamaTensorNames.layer(l))?.lowerBound
    }

    /// Backward of one (fused) product `dOutput (N, width) = input (N, inputs) · [W₁; W₂; …]ᵀ` and its
    /// LoRA branches: weight gradients accumulate (one product when `fusedGradient` covers every
    /// part, else per trainable part); `dInput` (nil: not needed) is overwritten with the input's gradient.
    func linearBackward(
        _ modules: [LlamaLinearModule], layer l: Int, slots s: LayerSlots, fusedGradient: UnsafeMutablePointer<Float>?,
        input: UnsafePointer<Float>, inputs: Int, dOutput: UnsafePointer<Float>, width: Int,
        dInput: UnsafeMutablePointer<Float>?, rows N: Int
    ) {
        if let fusedGradient {
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: true, transB: false, m: width, n: inputs, k: N, a: dOutput, lda: width, b: input, ldb: inputs,
                beta: 1, c: fusedGradient, ldc: inputs)
        } else {
            for module in modules {
                guard let dWeight = s.weights[module.rawValue].gradient else { continue }
                let outputs = module.dimensions(config).outputs
                Parallel.sgemm(
                    float32Kernel: float32Kernel, transA: true, transB: false, m: outputs, n: inputs, k: N,
                    a: dOutput + module.columnOffset(config), lda: width, b: input, ldb: inputs,
                    beta: 1, c: dWeight, ldc: inputs)
            }
        }
        if let dInput {
            Parallel.sgemm(
                float32Kernel: float32Kernel, transA: false, transB: false, m: N, n: inputs, k: width, a: dOutput, lda: width,
                b: s.weights[modules[0].rawValue].value, ldb: inputs, beta: 0, c: dInput, ldc: inputs)
        }
        lora?.backward(modules, layer: l, input: input, dOutput: dOutput, width: width, dInput: dInput, rows: N)
    }
}

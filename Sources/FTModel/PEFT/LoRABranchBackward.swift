import FTCore

/// The backward of one LoRA branch, `y += s · dropout(x) · Aᵀ · Bᵀ`, over a whole batch, as the
/// encoder's (`LoRALayers`) and Llama's (`LlamaLoRA`) branches both run it (one copy, so they
/// stay bit-identical):
///
///     dB += s · dyᵀ · u;  du = s · dy · B;  dA += duᵀ · x̃;  dx += dropout'(du · A)
///
/// with `u = x̃ · Aᵀ` the forward's kept product and `x̃` the dropped input, drawn again from
/// the same mask. Its products are split across the slice threads (`Parallel.sgemm`).
/// reference: PEFT `lora/layer.py` `Linear.forward` (autograd of `lora_B(lora_A(dropout(x))) * scaling`).
struct LoRABranchBackward {
    /// r, the branch's rank.
    let rank: Int
    /// s, `lora_alpha / r` (or its rsLoRA form).
    let scaling: Float
    /// (N, r) du, overwritten.
    let lowRankGradient: UnsafeMutablePointer<Float>
    /// (N, ≥ in) x̃ again, when the branch has dropout.
    let droppedInput: UnsafeMutablePointer<Float>?
    /// (N, ≥ in) du · A before dropout', when the branch has dropout.
    let inputGradient: UnsafeMutablePointer<Float>?

    /// One branch over `N` rows: `dOutput` points at the branch's columns of a (N, `width`)
    /// gradient; `input (N, inputs)`, `lowRank u (N, r)`, `a (r, inputs)`, `b (outputs, r)`.
    /// `dA`/`dB` accumulate when given (trainable); `dInput (N, inputs)` is added to when given.
    func run(
        dOutput dy: UnsafePointer<Float>, width: Int, input: UnsafePointer<Float>, lowRank u: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, dA: UnsafeMutablePointer<Float>?, dB: UnsafeMutablePointer<Float>?,
        dInput: UnsafeMutablePointer<Float>?, dropout mask: Dropout, rows N: Int, inputs: Int, outputs: Int
    ) {
        let r = rank, du = lowRankGradient
        // dB (out, r) += s · dyᵀ · u
        if let dB {
            Parallel.sgemm(
                transA: true, transB: false, m: outputs, n: r, k: N, alpha: scaling,
                a: dy, lda: width, b: u, ldb: r, beta: 1, c: dB, ldc: r)
        }
        // du (N, r) = s · dy · B
        Parallel.sgemm(
            transA: false, transB: false, m: N, n: r, k: outputs, alpha: scaling,
            a: dy, lda: width, b: b, ldb: r, beta: 0, c: du, ldc: r)
        var x = input
        if !mask.isIdentity, let scratch = droppedInput {
            mask.apply(from: input, to: scratch, count: N * inputs, firstIndex: 0)  // x̃ again, same mask
            x = UnsafePointer(scratch)
        }
        // dA (r, in) += duᵀ · x̃
        if let dA {
            Parallel.sgemm(
                transA: true, transB: false, m: r, n: inputs, k: N,
                a: du, lda: r, b: x, ldb: inputs, beta: 1, c: dA, ldc: inputs)
        }
        // dx += dropout'(du · A)
        guard let dInput else { return }
        if mask.isIdentity {
            Parallel.sgemm(
                transA: false, transB: false, m: N, n: inputs, k: r,
                a: du, lda: r, b: a, ldb: inputs, beta: 1, c: dInput, ldc: inputs)
        } else if let scratch = inputGradient {
            Parallel.sgemm(
                transA: false, transB: false, m: N, n: inputs, k: r,
                a: du, lda: r, b: a, ldb: inputs, beta: 0, c: scratch, ldc: inputs)
            mask.apply(scratch, count: N * inputs, firstIndex: 0)
            VectorMath.add(dInput, scratch, N * inputs)
        }
    }
}

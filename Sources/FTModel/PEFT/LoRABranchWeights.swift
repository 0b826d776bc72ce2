import FTCore

/// The A and B tensors of every LoRA branch of a model with the base weight each adds to: their
/// initialisation and merging, whatever family the branches belong to (`LoRALayers` on an
/// encoder, `LlamaLoRA` on a Llama keep one each and compute the passes themselves).
///
/// Per branch, with A `(r, in)`, B `(out, r)`, W `(out, in)` in the model's store and `s` the
/// scaling: merging adds `s · B A` to W, unmerging subtracts it again.
final class LoRABranchWeights: @unchecked Sendable {
    /// One branch's store names: A, B and the base weight it adds to, with W's dimensions.
    struct Branch {
        let a: String, b: String, weight: String
        let inputs: Int, outputs: Int
    }

    /// In the order of the model's branches (layer by layer, module by module): the order the
    /// initialisation draws its random numbers in.
    let branches: [Branch]
    let store: ParameterStore
    let rank: Int
    let scaling: Float
    /// True while `s · B A` is added into the base weights (`merge()`).
    private(set) var isMerged = false

    init(branches: [Branch], store: ParameterStore, configuration: LoRAConfiguration) {
        self.branches = branches
        self.store = store
        rank = configuration.rank
        scaling = configuration.scaling
    }

    /// PEFT's initialisation (`init_lora_weights=True`): A Kaiming-uniform with a = √5, that is
    /// U(−1/√in, 1/√in) (`nn.Linear`'s default), B zero — so the model starts as the base model.
    func initialize(rng: inout SeededRNG) {
        for branch in branches {
            let a = store.view(branch.a)
            let bound = 1 / Float(a.shape[1]).squareRoot()
            let p = store.value(a.name)
            for i in 0..<a.count { p[i] = (2 * rng.nextUniform() - 1) * bound }
            let b = store.view(branch.b)
            store.value(b.name).update(repeating: 0, count: b.count)
        }
    }

    /// PEFT's `merge`: W ← W + s · B A for every branch. Does nothing when already merged.
    func merge() {
        guard !isMerged else { return }
        addDeltas(sign: 1)
        isMerged = true
    }

    /// PEFT's `unmerge`: W ← W − s · B A, back to the base weights (up to float rounding).
    func unmerge() {
        guard isMerged else { return }
        addDeltas(sign: -1)
        isMerged = false
    }

    private func addDeltas(sign: Float) {
        for branch in branches {
            // W (out, in) += sign · s · B (out, r) · A (r, in)
            Parallel.sgemm(
                transA: false, transB: false, m: branch.outputs, n: branch.inputs, k: rank, alpha: sign * scaling,
                a: store.value(branch.b), lda: rank, b: store.value(branch.a), ldb: branch.inputs,
                beta: 1, c: store.value(branch.weight), ldc: branch.inputs)
        }
    }
}

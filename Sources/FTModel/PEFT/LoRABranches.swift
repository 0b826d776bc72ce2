import FTCore

/// What the trainer, export, benchmarks and federated rounds ask of a model's LoRA branches,
/// whatever the family computes them with (`LoRALayers` on an encoder, `LlamaLoRA` on a Llama).
public protocol LoRABranches: AnyObject, Sendable {
    /// The setup, with PEFT's names.
    var configuration: LoRAConfiguration { get }
    /// True while `s · B A` is added into the base weights.
    var isMerged: Bool { get }
    /// PEFT's initialisation: A Kaiming-uniform, B zero (the model starts as the base model).
    func initialize(rng: inout SeededRNG)
    /// PEFT's `merge`: W ← W + s · B A; the branches are then skipped.
    func merge()
    /// PEFT's `unmerge`: W ← W − s · B A.
    func unmerge()
}

extension LoRALayers: LoRABranches {}
extension LlamaLoRA: LoRABranches {}

import FTCore
import FTModel

/// Unstructured magnitude pruning (`torch.nn.utils.prune.l1_unstructured` per tensor, or
/// `global_unstructured` over all of them): the weights of smallest |w| are set to zero and stay
/// zero through a recovery fine-tune.
///
/// Which weights: the encoder layers' linear weights — query, key, value, attention output,
/// intermediate and output (`EncoderModel.quantizedWeightNames`), as the BERT-pruning papers do
/// (Gordon et al. 2020, Chen et al. 2020); embeddings, layer norms, biases, the pooler and the
/// classifier are left whole.
///
/// The count pruned is exact: ⌊sparsity · n + ½⌋ of a tensor's n weights (per layer), or of all
/// of them together (global); equal magnitudes are taken in tensor then element order, so the
/// mask is deterministic. Weights already zero are the first candidates, so pruning a pruned
/// model again to the same sparsity changes nothing.
public struct WeightMask: Sendable {
    /// How the target sparsity is met.
    public enum Scope: String, Sendable, CaseIterable {
        /// One threshold over every prunable weight: layers end with different sparsities.
        case global
        /// Each weight tensor pruned to the sparsity on its own (PyTorch's per-module `l1_unstructured`).
        case layer
    }

    /// The store names of the masked tensors, in layout order.
    public let names: [String]
    /// Per tensor, 1 where the weight is kept and 0 where it is pruned (same layout as the tensor).
    public let keep: [[UInt8]]

    /// The mask that prunes `model`'s layer weights to `sparsity` (in [0, 1)).
    /// - Throws: `PruningError` for a sparsity outside [0, 1).
    public init(model: EncoderModel, sparsity: Double, scope: Scope) throws {
        guard sparsity.isFinite, (0..<1).contains(sparsity) else {
            throw PruningError("--sparsity must be in [0, 1) (the fraction of layer weights set to zero), got \(sparsity)")
        }
        try self.init(store: model.store, names: model.quantizedWeightNames, sparsity: sparsity, scope: scope)
    }

    /// The mask over the named tensors of `store`.
    public init(store: ParameterStore, names: [String], sparsity: Double, scope: Scope) throws {
        guard sparsity.isFinite, (0..<1).contains(sparsity) else {
            throw PruningError("sparsity must be in [0, 1), got \(sparsity)")
        }
        self.names = names
        let values = names.map { UnsafeBufferPointer(start: UnsafePointer(store.value($0)), count: store.view($0).count) }
        var keep = values.map { [UInt8](repeating: 1, count: $0.count) }
        switch scope {
        case .layer:
            for (t, tensor) in values.enumerated() {
                let pruned = Self.prunedCount(sparsity, of: tensor.count)
                for i in Self.smallest(pruned, in: [tensor]) { keep[t][i.element] = 0 }
            }
        case .global:
            let pruned = Self.prunedCount(sparsity, of: values.reduce(0) { $0 + $1.count })
            for i in Self.smallest(pruned, in: values) { keep[i.tensor][i.element] = 0 }
        }
        self.keep = keep
    }

    /// The mask that keeps the nonzero weights of the named tensors (a pruned model, loaded again).
    public init(zerosOf store: ParameterStore, names: [String]) {
        self.names = names
        keep = names.map { name in
            let p = store.value(name)
            return (0..<store.view(name).count).map { p[$0] == 0 ? 0 : 1 }
        }
    }

    /// ⌊s · n + ½⌋.
    static func prunedCount(_ sparsity: Double, of n: Int) -> Int { min(n, Int((sparsity * Double(n)).rounded())) }

    /// The `k` entries of smallest magnitude over `tensors`, ties in (tensor, element) order.
    static func smallest(_ k: Int, in tensors: [UnsafeBufferPointer<Float>]) -> [(tensor: Int, element: Int)] {
        guard k > 0 else { return [] }
        var order: [(magnitude: Float, tensor: Int32, element: Int32)] = []
        order.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
        for (t, tensor) in tensors.enumerated() {
            for (i, w) in tensor.enumerated() { order.append((abs(w), Int32(t), Int32(i))) }
        }
        order.sort { ($0.magnitude, $0.tensor, $0.element) < ($1.magnitude, $1.tensor, $1.element) }
        return order.prefix(k).map { (Int($0.tensor), Int($0.element)) }
    }

    /// Sets the pruned weights of `store` to zero.
    public func apply(to store: ParameterStore) {
        for (name, mask) in zip(names, keep) {
            let p = store.value(name)
            for i in mask.indices where mask[i] == 0 { p[i] = 0 }
        }
    }

    /// Sets the pruned weights' gradients to zero (trainable tensors only): with a zero gradient,
    /// AdamW's moments stay zero and a zero weight gets a zero update and a zero decay, so the
    /// pruned weights stay exactly zero — what `torch.nn.utils.prune`'s `weight_orig · mask` gives.
    public func maskGradients(of store: ParameterStore) {
        for (name, mask) in zip(names, keep) {
            guard let g = store.gradient(name) else { continue }
            for i in mask.indices where mask[i] == 0 { g[i] = 0 }
        }
    }

    /// The fraction of masked weights over all tensors.
    public var sparsity: Double {
        let total = keep.reduce(0) { $0 + $1.count }
        let pruned = keep.reduce(0) { $0 + $1.lazy.filter { $0 == 0 }.count }
        return total == 0 ? 0 : Double(pruned) / Double(total)
    }
}

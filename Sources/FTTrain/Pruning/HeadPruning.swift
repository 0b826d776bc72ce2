import FTCore
import FTModel
import Foundation

/// Structured attention-head pruning: a smaller model without the removed heads, as transformers'
/// `PreTrainedModel.prune_heads` makes it — each removed head's d rows of the query, key and value
/// weights and biases, and its d columns of the attention-output weight, are dropped, and
/// `config.json` records the heads in `pruned_heads` (original numbering), so `from_pretrained`
/// builds the same smaller shapes and loads the file. Removing a head is exactly masking it
/// (ξₕ = 0): the remaining heads, their order and every other weight are unchanged, and the FLOPs
/// of the removed heads' projections and attention are gone.
public enum HeadPruning {
    /// A copy of `model` without the heads `heads` (`{layer: [local head]}`, local numbering of
    /// the model's current heads, as `HeadImportance.leastImportant` gives them).
    /// - Throws: `PruningError` for a layer or head out of range, a repeated head, or a layer
    ///   that would lose every head; `PruningError` for a model with adapters or quantised weights.
    public static func prune(_ model: EncoderModel, removing heads: [Int: [Int]]) throws -> EncoderModel {
        guard model.peft == nil else { throw PruningError("merge or drop the adapters before pruning heads") }
        guard !model.isQuantized else { throw PruningError("prune the float32 model, then quantise it") }
        let config = model.config
        try validate(heads, config: config)
        var pruned = config
        for (l, local) in heads where !local.isEmpty {
            let kept = config.keptHeads(layer: l)
            pruned.prunedHeads[l] = ((config.prunedHeads[l] ?? []) + local.map { kept[$0] }).sorted()
        }
        let result = try EncoderModel(config: pruned, numLabels: model.numLabels, head: model.head)
        let names = config.family.names, d = config.headSize
        for view in result.store.views {
            let source = model.store.view(view.name), from = model.store.value(view.name), to = result.store.value(view.name)
            guard source.shape != view.shape else {
                to.update(from: from, count: view.count)
                continue
            }
            // Only a layer's attention tensors change shape.
            let l = names.layer(ofTensor: view.name)!
            let keep = (0..<config.heads(layer: l)).filter { !(heads[l] ?? []).contains($0) }
            if view.name.hasSuffix(names.layerModules[3] + ".weight") {
                // (C, A) → (C, A'): the kept heads' columns.
                let rows = view.shape[0], A = source.shape[1], kept = view.shape[1]
                for r in 0..<rows {
                    for (k, h) in keep.enumerated() { (to + r * kept + k * d).update(from: from + r * A + h * d, count: d) }
                }
            } else {
                // Query, key or value: (A, C) → (A', C), or its bias (A) → (A'): the kept heads' rows.
                let columns = view.shape.count == 2 ? view.shape[1] : 1
                for (k, h) in keep.enumerated() { (to + k * d * columns).update(from: from + h * d * columns, count: d * columns) }
            }
        }
        return result
    }

    /// Masks heads in place (ξₕ = 0): zeroes their columns of the attention-output weight, which
    /// multiplies their context. The model computes what `prune` leaves (the reference of the tests).
    public static func mask(_ model: EncoderModel, heads: [Int: [Int]]) throws {
        try validate(heads, config: model.config, allowEmptyLayer: true)
        let names = model.config.family.names, C = model.config.hiddenSize, d = model.config.headSize
        for (l, local) in heads {
            let A = model.config.attentionWidth(layer: l)
            let w = model.store.value(names.layer(l) + names.layerModules[3] + ".weight")  // (C, A)
            for r in 0..<C {
                for h in local { (w + r * A + h * d).update(repeating: 0, count: d) }
            }
        }
    }

    /// Layers in range, heads in range and distinct, at least one head left per layer.
    static func validate(_ heads: [Int: [Int]], config: EncoderConfig, allowEmptyLayer: Bool = false) throws {
        for (l, local) in heads.sorted(by: { $0.key < $1.key }) {
            guard (0..<config.numHiddenLayers).contains(l) else {
                throw PruningError("layer \(l) does not exist: the model has \(config.numHiddenLayers) layers")
            }
            let count = config.heads(layer: l)
            if let bad = local.first(where: { !(0..<count).contains($0) }) {
                throw PruningError("layer \(l) has \(count) heads; head \(bad) does not exist")
            }
            guard Set(local).count == local.count else { throw PruningError("layer \(l): a head is named twice in \(local)") }
            guard allowEmptyLayer || local.count < count else {
                throw PruningError("removing all \(count) heads of layer \(l) leaves it without attention; keep at least one")
            }
        }
    }

    /// The number of heads to remove for `fraction` of the model's current heads (rounded to nearest).
    public static func headCount(fraction: Double, of config: EncoderConfig) throws -> Int {
        guard fraction.isFinite, (0..<1).contains(fraction) else {
            throw PruningError("--head-fraction must be in [0, 1), got \(fraction)")
        }
        let total = (0..<config.numHiddenLayers).reduce(0) { $0 + config.heads(layer: $1) }
        return Int((fraction * Double(total)).rounded())
    }
}

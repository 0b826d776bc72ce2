import FTCore
import FTModel
import Foundation

/// The zeros of an encoder's layer weights (the tensors magnitude pruning touches): per tensor,
/// per layer and overall — the sparsity a pruned model actually has, whatever made it.
public struct SparsityReport: Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let zeros: Int
        public let count: Int
        public var sparsity: Double { count == 0 ? 0 : Double(zeros) / Double(count) }
    }

    public let tensors: [Tensor]
    /// Layer of each tensor, as `tensors`.
    let layers: [Int]
    let layerCount: Int

    public init(model: EncoderModel) {
        let names = model.config.family.names
        tensors = model.quantizedWeightNames.map { name in
            let p = model.store.value(name), n = model.store.view(name).count
            var zeros = 0
            for i in 0..<n where p[i] == 0 { zeros += 1 }
            return Tensor(name: name, zeros: zeros, count: n)
        }
        layers = model.quantizedWeightNames.map { names.layer(ofTensor: $0) ?? 0 }
        layerCount = model.config.numHiddenLayers
    }

    /// Zeros over all layer weights.
    public var overall: Double {
        let count = tensors.reduce(0) { $0 + $1.count }
        return count == 0 ? 0 : Double(tensors.reduce(0) { $0 + $1.zeros }) / Double(count)
    }

    /// The sparsity of each layer's weights together.
    public var perLayer: [Double] {
        (0..<layerCount).map { l in
            let mine = zip(tensors, layers).filter { $0.1 == l }.map(\.0)
            let count = mine.reduce(0) { $0 + $1.count }
            return count == 0 ? 0 : Double(mine.reduce(0) { $0 + $1.zeros }) / Double(count)
        }
    }

    /// For `pruning.json`.
    public var dictionary: [String: Any] {
        [
            "sparsity": overall,
            "sparsity_per_layer": perLayer,
            "weights": tensors.reduce(0) { $0 + $1.count },
            "zero_weights": tensors.reduce(0) { $0 + $1.zeros },
            "tensors": Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.sparsity) }),
        ]
    }

    /// One line: overall and per-layer sparsity.
    public var summary: String {
        let layers = perLayer.map { String(format: "%.3f", $0) }.joined(separator: " ")
        return String(format: "sparsity of the layer weights: %.4f (per layer: %@)", overall, layers)
    }
}

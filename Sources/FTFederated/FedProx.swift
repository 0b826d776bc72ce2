import FTCore

/// FedProx (Li et al. 2020): a site minimises its loss plus (μ/2)·‖w − w_global‖² over the
/// trainable parameters, which keeps local training near the global adapter when sites' data
/// differ; its gradient adds μ·(w − w_global) to every trainable gradient.
public struct FedProx {
    public let mu: Float
    /// The round's global values of the trainable tensors, in gradient-buffer order.
    private var anchor: [Float] = []

    public init(mu: Float) { self.mu = mu }

    /// Remembers the current trainable values (the global adapter just applied) as the anchor.
    public mutating func anchor(at store: ParameterStore) {
        anchor = store.trainableValues()
    }

    /// gradient += μ · (value − anchor), for every trainable element.
    public func addProximalGradient(_ store: ParameterStore) {
        guard mu != 0, anchor.count == store.trainableCount else { return }
        let gradients = store.gradients.baseAddress!, values = store.values.baseAddress!
        for run in store.trainableRuns {
            for i in 0..<run.count {
                let g = run.gradientOffset + i
                gradients[g] += mu * (values[run.valueOffset + i] - anchor[g])
            }
        }
    }
}

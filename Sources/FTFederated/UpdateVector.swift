/// A site's round update as one flat vector, the form that clipping, noise and secure
/// aggregation work on: the change from the global adapter, in the space the mode averages —
/// A and B (FedAvg), B alone (FFA-LoRA), the products B·A (SVD) — then the dense tensors.
/// Modules and tensors are laid out in sorted name order, so every party agrees on the layout.
public struct UpdateVector: Sendable {
    public let mode: AggregationMode
    /// The global adapter the deltas are taken from.
    public let global: AdapterUpdate
    private let moduleNames: [String]
    private let denseNames: [String]

    public init(mode: AggregationMode, global: AdapterUpdate) {
        self.mode = mode
        self.global = global
        moduleNames = global.modules.keys.sorted()
        denseNames = global.dense.keys.sorted()
    }

    /// Elements of the vector.
    public var count: Int {
        var total = 0
        for name in moduleNames {
            let f = global.modules[name]!
            switch mode {
            case .fedavg: total += f.a.count + f.b.count
            case .ffa: total += f.b.count
            case .svd: total += f.outFeatures * f.inFeatures
            }
        }
        return total + denseNames.reduce(0) { $0 + global.dense[$1]!.count }
    }

    /// `local − global` in the mode's space.
    public func delta(_ local: AdapterUpdate) throws -> [Float] {
        var vector: [Float] = []
        vector.reserveCapacity(count)
        for name in moduleNames {
            let g = global.modules[name]!
            guard let l = local.modules[name], l.inFeatures == g.inFeatures, l.outFeatures == g.outFeatures else {
                throw AggregationError.mismatch("the update has no \(name) of the global adapter's shape")
            }
            switch mode {
            case .fedavg, .ffa:
                guard l.rank == g.rank else { throw AggregationError.mismatch("\(name) has rank \(l.rank), the global adapter \(g.rank)") }
                if mode == .ffa, l.a != g.a { throw AggregationError.mismatch("\(name): the frozen A changed (FFA-LoRA trains B only)") }
                if mode == .fedavg { vector += zip(l.a, g.a).map { $0 - $1 } }
                vector += zip(l.b, g.b).map { $0 - $1 }
            case .svd:
                vector += zip(l.product, g.product).map { Float($0 - $1) }
            }
        }
        for name in denseNames {
            guard let l = local.dense[name], l.count == global.dense[name]!.count else {
                throw AggregationError.mismatch("the update has no \(name) of \(global.dense[name]!.count) values")
            }
            vector += zip(l, global.dense[name]!).map { $0 - $1 }
        }
        return vector
    }

    /// The new global adapter: `global + serverLearningRate · meanDelta`, re-factorised at the
    /// global ranks in the SVD mode.
    public func apply(meanDelta: [Double], serverLearningRate eta: Double = 1, examples: Int) throws -> AdapterUpdate {
        precondition(meanDelta.count == count, "a delta of \(meanDelta.count) elements for a layout of \(count)")
        var offset = 0
        func take(_ n: Int) -> ArraySlice<Double> {
            defer { offset += n }
            return meanDelta[offset..<(offset + n)]
        }
        func moved(_ values: [Float], _ delta: ArraySlice<Double>) -> [Float] {
            zip(values, delta).map { Float(Double($0) + eta * $1) }
        }
        var result = AdapterUpdate(modules: [:], dense: [:], examples: examples)
        for name in moduleNames {
            let g = global.modules[name]!
            switch mode {
            case .fedavg:
                let a = moved(g.a, take(g.a.count)), b = moved(g.b, take(g.b.count))
                result.modules[name] = LoRAFactors(a: a, b: b, rank: g.rank, inFeatures: g.inFeatures, outFeatures: g.outFeatures)
            case .ffa:
                result.modules[name] = LoRAFactors(
                    a: g.a, b: moved(g.b, take(g.b.count)), rank: g.rank,
                    inFeatures: g.inFeatures, outFeatures: g.outFeatures)
            case .svd:
                let product = zip(g.product, take(g.outFeatures * g.inFeatures)).map { $0 + eta * $1 }
                result.modules[name] = try LoRAAggregation.factorize(
                    product, rank: g.rank, inFeatures: g.inFeatures,
                    outFeatures: g.outFeatures)
            }
        }
        for name in denseNames {
            let values = global.dense[name]!
            result.dense[name] = moved(values, take(values.count))
        }
        return result
    }
}

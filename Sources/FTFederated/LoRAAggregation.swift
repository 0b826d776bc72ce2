import FTCore

/// One LoRA module's factors as PEFT stores them: `A (r, in)` and `B (out, r)`, row-major; the
/// module's weight update is `B · A` (times PEFT's scaling, which is the same at every site and
/// therefore left out of the aggregation).
public struct LoRAFactors: Sendable, Equatable {
    public var a: [Float]
    public var b: [Float]
    public let rank: Int, inFeatures: Int, outFeatures: Int

    public init(a: [Float], b: [Float], rank: Int, inFeatures: Int, outFeatures: Int) {
        precondition(a.count == rank * inFeatures && b.count == outFeatures * rank, "A (r, in) and B (out, r)")
        self.a = a
        self.b = b
        self.rank = rank
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// `B · A`, (out, in) row-major, in double precision.
    public var product: [Double] {
        var result = [Double](repeating: 0, count: outFeatures * inFeatures)
        for o in 0..<outFeatures {
            for k in 0..<rank {
                let bk = Double(b[o * rank + k])
                if bk == 0 { continue }
                for i in 0..<inFeatures { result[o * inFeatures + i] += bk * Double(a[k * inFeatures + i]) }
            }
        }
        return result
    }
}

/// What one site sends after a round (and what the coordinator sends back): LoRA factors per
/// module, the dense trainable tensors (the classifier head, `modules_to_save`), and the number
/// of training examples behind it (FedAvg's weight).
public struct AdapterUpdate: Sendable, Equatable {
    public var modules: [String: LoRAFactors]
    public var dense: [String: [Float]]
    public var examples: Int

    public init(modules: [String: LoRAFactors], dense: [String: [Float]] = [:], examples: Int) {
        self.modules = modules
        self.dense = dense
        self.examples = examples
    }
}

/// How the coordinator combines the sites' adapters.
public enum AggregationMode: String, Sendable, CaseIterable {
    /// FedAvg weighted by examples, A and B averaged separately (OpenFedLLM's baseline). Not
    /// exact: the mean of the products B·A is not the product of the means.
    case fedavg
    /// FFA-LoRA: A is frozen at its shared initial value and only B trains and travels, so the
    /// average of B times A is exactly the average of the sites' updates.
    case ffa
    /// The weighted mean of the products B·A, re-factorised by a truncated SVD into rank-r
    /// factors (`B = U√S`, `A = √S Vᵀ`): exact whenever that mean has rank ≤ r, and sites may
    /// train different ranks.
    case svd
}

public enum AggregationError: Error, CustomStringConvertible, Equatable {
    case noUpdates
    case mismatch(String)

    public var description: String {
        switch self {
        case .noUpdates: return "no site update to aggregate"
        case .mismatch(let what): return "site updates disagree: \(what)"
        }
    }
}

public enum LoRAAggregation {
    /// The new global adapter from the sites' `updates` and the current `global` one:
    /// `global + serverLearningRate · (aggregate − global)` (1 takes the aggregate as it is).
    /// The SVD mode applies the server step to the products and factorises at `global`'s ranks.
    public static func aggregate(
        _ updates: [AdapterUpdate], global: AdapterUpdate, mode: AggregationMode,
        serverLearningRate: Double = 1
    ) throws -> AdapterUpdate {
        guard !updates.isEmpty else { throw AggregationError.noUpdates }
        let total = updates.reduce(0) { $0 + $1.examples }
        guard total > 0, updates.allSatisfy({ $0.examples >= 0 }) else {
            throw AggregationError.mismatch("example counts must be non-negative with a positive sum")
        }
        let weights = updates.map { Double($0.examples) / Double(total) }
        let eta = serverLearningRate
        var result = AdapterUpdate(modules: [:], dense: [:], examples: total)

        for (name, current) in global.modules {
            let factors = try updates.map { update -> LoRAFactors in
                guard let f = update.modules[name] else { throw AggregationError.mismatch("a site sent no \(name)") }
                guard f.inFeatures == current.inFeatures, f.outFeatures == current.outFeatures else {
                    throw AggregationError.mismatch(
                        "\(name) is (\(f.outFeatures), \(f.inFeatures)) at a site, (\(current.outFeatures), \(current.inFeatures)) globally")
                }
                if mode != .svd, f.rank != current.rank {
                    throw AggregationError.mismatch("\(name) has rank \(f.rank) at a site, \(current.rank) globally (only the svd mode mixes ranks)")
                }
                return f
            }
            switch mode {
            case .fedavg:
                result.modules[name] = LoRAFactors(
                    a: step(current.a, average(factors.map(\.a), weights), eta),
                    b: step(current.b, average(factors.map(\.b), weights), eta),
                    rank: current.rank, inFeatures: current.inFeatures, outFeatures: current.outFeatures)
            case .ffa:
                if factors.contains(where: { $0.a != current.a }) {
                    throw AggregationError.mismatch("\(name): a site changed the frozen A (FFA-LoRA trains B only)")
                }
                result.modules[name] = LoRAFactors(
                    a: current.a, b: step(current.b, average(factors.map(\.b), weights), eta),
                    rank: current.rank, inFeatures: current.inFeatures, outFeatures: current.outFeatures)
            case .svd:
                var mean = [Double](repeating: 0, count: current.outFeatures * current.inFeatures)
                for (f, w) in zip(factors, weights) {
                    for (i, v) in f.product.enumerated() { mean[i] += w * v }
                }
                if eta != 1 {
                    let old = current.product
                    for i in mean.indices { mean[i] = old[i] + eta * (mean[i] - old[i]) }
                }
                result.modules[name] = try factorize(
                    mean, rank: current.rank, inFeatures: current.inFeatures,
                    outFeatures: current.outFeatures)
            }
        }
        for (name, current) in global.dense {
            let tensors = try updates.map { update -> [Float] in
                guard let t = update.dense[name], t.count == current.count else {
                    throw AggregationError.mismatch("a site sent no \(name) of \(current.count) values")
                }
                return t
            }
            result.dense[name] = step(current, average(tensors, weights), eta)
        }
        return result
    }

    /// Rank-`rank` factors of the (out, in) matrix `product`: `B = U_r √S_r`, `A = √S_r V_rᵀ`.
    public static func factorize(_ product: [Double], rank: Int, inFeatures: Int, outFeatures: Int) throws -> LoRAFactors {
        let svd = try SingularValueDecomposition(product, rows: outFeatures, columns: inFeatures)
        let k = svd.rank
        var a = [Float](repeating: 0, count: rank * inFeatures), b = [Float](repeating: 0, count: outFeatures * rank)
        for j in 0..<min(rank, k) {
            let root = svd.singularValues[j].squareRoot()
            for o in 0..<outFeatures { b[o * rank + j] = Float(svd.u[o * k + j] * root) }
            for i in 0..<inFeatures { a[j * inFeatures + i] = Float(root * svd.vt[j * inFeatures + i]) }
        }
        return LoRAFactors(a: a, b: b, rank: rank, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// `global` at the ranks of `template` (a site's own adapter): each module whose rank differs
    /// is re-factorised from its product B·A at the site's rank — the best rank-r approximation
    /// (Eckart–Young), as FlexLoRA hands the server's mean to a client of lower rank — and the
    /// components the product cannot fill (singular values under 1e-6 of the largest: a product of
    /// lower rank, the zero B of round 0) take the
    /// template's A rows with zero B columns, so they add nothing yet still train (a zero A and a
    /// zero B would keep each other's gradients at zero for ever). Modules of equal rank and the
    /// dense tensors are `global`'s as they are.
    /// - Throws: `AggregationError.mismatch` when a module is missing or of another shape.
    public static func fit(_ global: AdapterUpdate, toRanksOf template: AdapterUpdate) throws -> AdapterUpdate {
        var result = global
        for (name, g) in global.modules {
            guard let own = template.modules[name], own.inFeatures == g.inFeatures, own.outFeatures == g.outFeatures else {
                throw AggregationError.mismatch("the global adapter's \(name) has no module of its shape at this site")
            }
            guard own.rank != g.rank else { continue }
            let (r, n, m) = (own.rank, g.inFeatures, g.outFeatures)
            let svd = try SingularValueDecomposition(g.product, rows: m, columns: n)
            let k = svd.rank, largest = svd.singularValues.first ?? 0
            var fitted = LoRAFactors(a: own.a, b: [Float](repeating: 0, count: m * r), rank: r, inFeatures: n, outFeatures: m)
            // Components below float32's resolution of the product are noise, not direction.
            for j in 0..<min(r, k) where largest > 0 && svd.singularValues[j] > largest * 1e-6 {
                let root = svd.singularValues[j].squareRoot()
                for o in 0..<m { fitted.b[o * r + j] = Float(svd.u[o * k + j] * root) }
                for i in 0..<n { fitted.a[j * n + i] = Float(root * svd.vt[j * n + i]) }
            }
            result.modules[name] = fitted
        }
        return result
    }

    /// Σ wᵢ xᵢ in double precision, rounded once.
    static func average(_ tensors: [[Float]], _ weights: [Double]) -> [Double] {
        var sum = [Double](repeating: 0, count: tensors[0].count)
        for (tensor, weight) in zip(tensors, weights) {
            for i in sum.indices { sum[i] += weight * Double(tensor[i]) }
        }
        return sum
    }

    /// `old + eta · (new − old)`, as floats.
    static func step(_ old: [Float], _ new: [Double], _ eta: Double) -> [Float] {
        eta == 1 ? new.map { Float($0) } : zip(old, new).map { Float(Double($0) + eta * ($1 - Double($0))) }
    }
}

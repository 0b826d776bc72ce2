import Foundation

/// Asynchronous successive halving (ASHA; Optuna's `SuccessiveHalvingPruner`, Ray Tune's
/// `ASHAScheduler` in its stopping form). A trial's resource is the number of evaluations it has
/// run. Rung k sits at `minResource × reductionFactor^k` evaluations. When a trial reaches a rung
/// its metric there is recorded, and it goes on only if it is among the top
/// `1 / reductionFactor` of every value recorded at that rung so far (its own included; with
/// fewer than `reductionFactor` values the best one alone goes on, so the first trial always
/// does). Decisions never wait for other trials: that is the asynchronous part.
public struct SuccessiveHalving: Sendable, Equatable {
    public let minResource: Int
    public let reductionFactor: Int
    public let direction: SearchSpace.Direction
    /// Per rung, the values recorded there by trial number.
    public private(set) var rungs: [[Int: Double]] = []

    public init(minResource: Int, reductionFactor: Int, direction: SearchSpace.Direction) {
        precondition(minResource >= 1 && reductionFactor >= 2)
        self.minResource = minResource
        self.reductionFactor = reductionFactor
        self.direction = direction
    }

    /// The rung whose resource is exactly `resource` evaluations, if any.
    public func rung(atResource resource: Int) -> Int? {
        var r = minResource, k = 0
        while r < resource {
            let (next, overflow) = r.multipliedReportingOverflow(by: reductionFactor)
            if overflow { return nil }
            r = next
            k += 1
        }
        return r == resource ? k : nil
    }

    /// The resource of rung `k`.
    public func resource(ofRung k: Int) -> Int {
        (0..<k).reduce(minResource) { value, _ in value * reductionFactor }
    }

    /// Records that trial `number` reached `resource` evaluations with metric `value`; returns
    /// true when the trial must stop there (pruned). Between rungs nothing is recorded and the
    /// trial goes on. A NaN metric is pruned at once.
    public mutating func report(trial number: Int, resource: Int, value: Double) -> Bool {
        guard let k = rung(atResource: resource) else { return false }
        if value.isNaN { return true }
        while rungs.count <= k { rungs.append([:]) }
        rungs[k][number] = value
        return !isPromotable(value, among: Array(rungs[k].values))
    }

    /// Records a value without deciding (a finished or pruned trial read back from `study.jsonl`).
    public mutating func restore(trial number: Int, resource: Int, value: Double) {
        guard let k = rung(atResource: resource), !value.isNaN else { return }
        while rungs.count <= k { rungs.append([:]) }
        rungs[k][number] = value
    }

    /// Optuna's `_is_trial_promotable_to_next_rung`: the value is at least the
    /// `⌊n / η⌋`-th best of the rung's `n` values (the best when `n < η`).
    func isPromotable(_ value: Double, among values: [Double]) -> Bool {
        let index = max(values.count / reductionFactor - 1, 0)
        if direction == .maximize {
            return value >= values.sorted(by: >)[index]
        }
        return value <= values.sorted()[index]
    }
}

import FTCore
import Foundation

/// Which optimiser the coordinator applies to each round's aggregated update (`federation.server_optimizer`).
public enum ServerOptimizerKind: String, Sendable, CaseIterable {
    /// `global + η · Δ` (η = 1: plain FedAvg, the aggregate as it is).
    case none
    /// Adam on Δ with Flower's bias-corrected step (Reddi et al. 2021, Algorithm 2).
    case fedadam
    /// Yogi: the second moment moves by `sign(v − Δ²)` steps, so it cannot blow up as Adam's can.
    case fedyogi
    /// Adagrad: the second moment sums every Δ²; Flower's FedAdagrad has no momentum (β₁ = 0).
    case fedadagrad
}

/// The optimiser's hyper-parameters; the learning rate η is `federation.server_learning_rate`.
public struct ServerOptimizerSettings: Sendable, Equatable {
    public var kind: ServerOptimizerKind
    /// Momentum of the first moment `m` (fedadam, fedyogi: 0.9; fedadagrad: 0, as Flower).
    public var beta1: Double
    /// Decay of the second moment `v` (fedadam, fedyogi).
    public var beta2: Double
    /// τ, added to √v: the adaptivity's floor (the issue's 1e-3).
    public var tau: Double

    public init(kind: ServerOptimizerKind = .none, beta1: Double? = nil, beta2: Double = 0.99, tau: Double = 1e-3) {
        self.kind = kind
        self.beta1 = beta1 ?? (kind == .fedadagrad ? 0 : 0.9)
        self.beta2 = beta2
        self.tau = tau
    }

    /// η when `server_learning_rate` is not given: 1 without an optimiser (the aggregate as it
    /// is), 0.1 with one (Flower's and the paper's default).
    public var defaultLearningRate: Double { kind == .none ? 1 : 0.1 }
}

/// The coordinator's server optimiser (Reddi et al. 2021, "Adaptive Federated Optimization", as
/// Flower's `FedAdam`, `FedYogi` and `FedAdagrad` strategies compute it): each round it takes
/// Δ = aggregate − global, elementwise over the update vector's layout (`UpdateVector`: A and B
/// for FedAvg, B for FFA-LoRA, the products B·A for SVD, then the dense tensors), and returns
/// the step to add to the global adapter:
///
///     m ← β₁ m + (1 − β₁) Δ
///     v ← β₂ v + (1 − β₂) Δ²                 (fedadam)
///     v ← v − (1 − β₂) Δ² sign(v − Δ²)       (fedyogi)
///     v ← v + Δ²                             (fedadagrad)
///     step = η′ m / (√v + τ)
///
/// with `m` and `v` starting at 0, and η′ = η for Yogi and Adagrad; for Adam Flower's bias
/// correction η′ = η √(1 − β₂^(t+1)) / (1 − β₁^(t+1)) at its `server_round` t = 1, 2, … (the
/// optimiser's own step count here, so a round that aggregates nothing does not count). In the
/// SVD mode the moments live on the dense products B·A, not on the factors: the factors a
/// truncated SVD returns are unique only up to signs and rotations within equal singular values,
/// so a moment kept per factor element would average unrelated directions from round to round,
/// while the product is the update the module actually applies; the step is added to the product
/// and the sum re-factorised at the global rank (exact when that rank allows: Adam's elementwise
/// division does not keep the update's rank). The moments are in double precision and are saved
/// with the coordinator's state (`server_optimizer.safetensors`) so a resumed federation continues
/// bit for bit.
public struct ServerOptimizer: Sendable, Equatable {
    public let settings: ServerOptimizerSettings
    /// η (`server_learning_rate`).
    public let learningRate: Double
    /// m and v over the update vector's layout (empty before the first step).
    public private(set) var firstMoment: [Double] = []
    public private(set) var secondMoment: [Double] = []
    /// Steps taken (Flower's `server_round` of the last one).
    public private(set) var steps = 0

    public init(settings: ServerOptimizerSettings, learningRate: Double) {
        self.settings = settings
        self.learningRate = learningRate
    }

    /// The step to add to the global adapter for the aggregated update `delta` (= aggregate − global).
    /// - Throws: `AggregationError.mismatch` when `delta`'s length differs from the moments' (the
    ///   adapter's layout changed under the optimiser).
    public mutating func step(_ delta: [Double]) throws -> [Double] {
        steps += 1
        let eta = learningRate
        guard settings.kind != .none else { return eta == 1 ? delta : delta.map { eta * $0 } }
        if firstMoment.isEmpty {
            firstMoment = [Double](repeating: 0, count: delta.count)
            secondMoment = firstMoment
        }
        guard firstMoment.count == delta.count else {
            steps -= 1
            throw AggregationError.mismatch(
                "the server optimiser's moments have \(firstMoment.count) values, the aggregated update \(delta.count)")
        }
        let (beta1, beta2, tau) = (settings.beta1, settings.beta2, settings.tau)
        var scale = eta
        if settings.kind == .fedadam {
            let t = Double(steps) + 1
            scale = eta * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
        }
        var result = [Double](repeating: 0, count: delta.count)
        for i in delta.indices {
            let d = delta[i], square = d * d
            let m = beta1 * firstMoment[i] + (1 - beta1) * d
            var v = secondMoment[i]
            switch settings.kind {
            case .fedadam: v = beta2 * v + (1 - beta2) * square
            case .fedyogi: v = v - (1 - beta2) * square * Self.sign(v - square)
            case .fedadagrad: v = v + square
            case .none: break
            }
            firstMoment[i] = m
            secondMoment[i] = v
            result[i] = scale * m / (v.squareRoot() + tau)
        }
        return result
    }

    /// numpy's `sign`: −1, 0 or 1.
    private static func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }

    // MARK: The coordinator's state

    static let stateFile = "server_optimizer.safetensors"

    /// Writes the moments (float64, bit for bit) and the step count, tagged with `completedRounds`,
    /// atomically into `output`; nothing for `none`, which keeps no state.
    func save(to output: URL, completedRounds: Int) throws {
        guard settings.kind != .none else { return }
        var writer = SafeTensorsWriter(metadata: [
            "optimizer": settings.kind.rawValue, "steps": String(steps), "round": String(completedRounds),
        ])
        func bytes(_ values: [Double]) -> [UInt8] { values.withUnsafeBytes { [UInt8]($0) } }
        try writer.add("m", shape: [firstMoment.count], rawBytes: bytes(firstMoment), dtype: .F64)
        try writer.add("v", shape: [secondMoment.count], rawBytes: bytes(secondMoment), dtype: .F64)
        try Data(writer.serialized()).write(to: output.appendingPathComponent(Self.stateFile), options: .atomic)
    }

    /// This optimiser with the moments saved in `output` after `completedRounds` rounds (as it is
    /// for `none`, or when the federation saved none yet).
    /// - Throws: `FederationError` naming the file when it is of another round or optimiser.
    func restored(from output: URL, completedRounds: Int) throws -> ServerOptimizer {
        guard settings.kind != .none else { return self }
        let path = output.appendingPathComponent(Self.stateFile).path
        guard let data = FileManager.default.contents(atPath: path) else {
            guard completedRounds == 0 else {
                throw FederationError(
                    description:
                        "\(path) is missing: the federation's \(completedRounds) rounds ran without server_optimizer \(settings.kind.rawValue)")
            }
            return self
        }
        let file = try SafeTensorsFile(bytes: [UInt8](data), name: path)
        guard file.metadata["optimizer"] == settings.kind.rawValue else {
            throw FederationError(
                description:
                    "\(path) holds the moments of \(file.metadata["optimizer"] ?? "?"), the config says server_optimizer \(settings.kind.rawValue)")
        }
        guard file.metadata["round"].flatMap(Int.init) == completedRounds, let steps = file.metadata["steps"].flatMap(Int.init) else {
            throw FederationError(
                description:
                    "\(path) is of round \(file.metadata["round"] ?? "?"), the state says \(completedRounds) rounds: the last save was interrupted")
        }
        func doubles(_ name: String) throws -> [Double] {
            guard let info = file.info(name), info.dtype == .F64, info.shape.count == 1 else {
                throw FederationError(description: "\(path) has no float64 vector \(name)")
            }
            return try file.withRawBytes(name) { raw in (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
        }
        var result = self
        result.firstMoment = try doubles("m")
        result.secondMoment = try doubles("v")
        guard result.firstMoment.count == result.secondMoment.count else {
            throw FederationError(description: "\(path): m and v differ in length")
        }
        result.steps = steps
        return result
    }
}

/// Tensor-by-tensor comparison of two safetensors files (`fttrain diff-weights`): whether two runs
/// reached the same parameters, exactly or within `|a − b| ≤ atol + rtol·|b|` (NumPy's `allclose`).
public struct SafeTensorsComparison: Sendable {
    /// One tensor's outcome.
    public struct Entry: Sendable {
        public let name: String
        /// Set when the tensor cannot be compared: missing on one side, or another shape.
        public let problem: String?
        public let maxAbsoluteDifference: Double
        /// The largest `|a − b| / |b|` over elements with `b ≠ 0`.
        public let maxRelativeDifference: Double
        /// Elements outside the tolerance.
        public let mismatches: Int
        public var isWithinTolerance: Bool { problem == nil && mismatches == 0 }
    }

    public let entries: [Entry]
    public var isWithinTolerance: Bool { entries.allSatisfy(\.isWithinTolerance) }
    public var maxAbsoluteDifference: Double { entries.map(\.maxAbsoluteDifference).max() ?? 0 }
    public var maxRelativeDifference: Double { entries.map(\.maxRelativeDifference).max() ?? 0 }

    /// Compares every floating-point tensor by name (`a` is the candidate, `b` the reference).
    public init(
        _ a: SafeTensorsFile, _ b: SafeTensorsFile, relativeTolerance rtol: Double = 0,
        absoluteTolerance atol: Double = 0
    ) throws {
        let names = Set(a.tensors.map(\.name)).union(b.tensors.map(\.name)).sorted()
        var entries: [Entry] = []
        for name in names {
            guard let infoA = a.info(name), let infoB = b.info(name) else {
                entries.append(
                    Entry(
                        name: name, problem: "only in \(a.info(name) == nil ? b.path : a.path)",
                        maxAbsoluteDifference: .infinity, maxRelativeDifference: .infinity, mismatches: 0))
                continue
            }
            guard infoA.shape == infoB.shape else {
                entries.append(
                    Entry(
                        name: name, problem: "shape \(infoA.shape) vs \(infoB.shape)",
                        maxAbsoluteDifference: .infinity, maxRelativeDifference: .infinity, mismatches: 0))
                continue
            }
            guard infoA.dtype.isFloatingPoint, infoB.dtype.isFloatingPoint else { continue }
            let x = try a.floats(name), y = try b.floats(name)
            var maxAbsolute = 0.0, maxRelative = 0.0, mismatches = 0
            for i in 0..<x.count {
                let u = Double(x[i]), v = Double(y[i])
                let difference = u == v ? 0 : abs(u - v)  // equal infinities compare equal
                if difference.isNaN || difference > atol + rtol * abs(v) { mismatches += 1 }
                maxAbsolute = max(maxAbsolute, difference.isNaN ? .infinity : difference)
                if v != 0 { maxRelative = max(maxRelative, difference / abs(v)) }
            }
            entries.append(
                Entry(
                    name: name, problem: nil, maxAbsoluteDifference: maxAbsolute,
                    maxRelativeDifference: maxRelative, mismatches: mismatches))
        }
        self.entries = entries
    }
}

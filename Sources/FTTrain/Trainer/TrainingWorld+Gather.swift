extension TrainingWorld {
    /// Collective: `values` (the same length on every rank) where each element was computed by
    /// at most one rank and is +0 on the others; afterwards every rank holds every owner's
    /// values bit for bit.
    ///
    /// Only `averageInPlace` is at hand, and an average of floats is not exact; so each float is
    /// sent as its two 16-bit halves (small integers, exact in float32): the sum over ranks of one
    /// half and zeros is that half, the average is it divided by the rank count within a few ulps,
    /// and `× ranks` rounded to the nearest integer recovers it exactly (the error is below
    /// 65535 · 2⁻²² ≪ ½).
    func gatherDisjoint(_ values: inout [Float]) throws {
        let ranks = size
        guard ranks > 1, !values.isEmpty else { return }
        var halves = [Float](repeating: 0, count: values.count * 2)
        for (i, value) in values.enumerated() {
            halves[2 * i] = Float(value.bitPattern >> 16)
            halves[2 * i + 1] = Float(value.bitPattern & 0xFFFF)
        }
        try halves.withUnsafeMutableBufferPointer { try averageInPlace($0.baseAddress!, count: $0.count) }
        for i in values.indices {
            let high = UInt32((halves[2 * i] * Float(ranks)).rounded())
            let low = UInt32((halves[2 * i + 1] * Float(ranks)).rounded())
            values[i] = Float(bitPattern: high << 16 | low)
        }
    }
}

import XCTest

/// Central finite differences for backward passes (design.md §3.1).
///
/// The kernels compute in Float, so the difference quotient carries float rounding of about
/// `1e-7 · |loss| / h`; with `h = 1e-2` on O(1) tensors the check holds at
/// `|analytic − numeric| ≤ atol + rtol · |numeric|` with `atol = 2e-3`, `rtol = 1e-2`.
/// A wrong backward term is off by O(1), far outside that.
public enum GradientCheck {
    /// Perturbs each of `count` elements at `parameter`, evaluates `loss` (which must run the
    /// forward pass and reduce its output, in Double) and compares with `analytic`.
    public static func check(
        _ name: String, parameter: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
        h: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
        file: StaticString = #filePath, line: UInt = #line, loss: () -> Double
    ) {
        precondition(analytic.count == count)
        var worst = 0.0
        var failures = 0
        for i in 0..<count {
            let saved = parameter[i]
            parameter[i] = saved + h
            let plus = loss()
            parameter[i] = saved - h
            let minus = loss()
            parameter[i] = saved
            let numeric = (plus - minus) / Double(2 * h)
            let error = abs(Double(analytic[i]) - numeric)
            worst = max(worst, error - rtol * abs(numeric))
            if error > atol + rtol * abs(numeric) {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(name)[\(i)]: analytic \(analytic[i]) vs numeric \(numeric)", file: file, line: line)
                }
            }
        }
        if failures > 5 { XCTFail("\(name): \(failures) of \(count) elements differ", file: file, line: line) }
    }
}

/// A fixed random weighting `w` that turns a tensor output into a scalar loss `Σ w·y`,
/// so that `dLoss/dy = w` feeds the backward pass.
public struct LossProjection {
    public let weights: [Float]

    public init(count: Int, seed: UInt64) {
        var state = seed
        weights = (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    public func loss(_ output: UnsafePointer<Float>) -> Double {
        var sum = 0.0
        for i in 0..<weights.count { sum += Double(weights[i]) * Double(output[i]) }
        return sum
    }
}

/// Deterministic test values in [-scale, scale].
public func testValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    LossProjection(count: count, seed: seed).weights.map { $0 * scale }
}

/// A heap buffer for tests: kernels take its pointer, and closures may read it while a gradient
/// check perturbs it (an inout Swift array would be an exclusivity violation there).
public final class TestTensor {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }

    public convenience init(zeros count: Int) { self.init([Float](repeating: 0, count: count)) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    deinit { pointer.deallocate() }
}

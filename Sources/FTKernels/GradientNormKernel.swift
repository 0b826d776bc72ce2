/// The element loops of gradient clipping (`GradientClipping` in FTTrain holds the torch
/// semantics and the checks): the blocked sum of squares and the in-place scale.
public enum GradientNormKernel {
    /// Σ g[i]² over `n` elements, in fixed blocks of `blockSize`: a float32 SIMD dot per block
    /// (`VectorMath.dot`), the blocks summed in Double in order, so the result depends on
    /// `blockSize` alone, not on threads or tensor layout.
    /// Unchecked: the caller guarantees `n` elements behind `g` and `blockSize > 0`.
    public static func sumOfSquares(_ g: UnsafePointer<Float>, count n: Int, blockSize: Int) -> Double {
        var sum: Double = 0
        var start = 0
        while start < n {
            let count = min(blockSize, n - start)
            sum += Double(VectorMath.dot(g + start, g + start, count))
            start += count
        }
        return sum
    }

    /// g ← g · c over `n` elements.
    /// Unchecked: the caller guarantees `n` elements behind `g`.
    public static func scale(_ g: UnsafeMutablePointer<Float>, by c: Float, count n: Int) {
        for i in 0..<n { g[i] *= c }
    }
}

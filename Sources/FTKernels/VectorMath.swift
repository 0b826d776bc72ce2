/// SIMD building blocks for the element-wise parts of a pass (softmax, GELU, layer norm), which
/// libm's scalar calls and non-vectorised float reductions made a quarter of an inference pass.
///
/// Reductions use 8 partial sums, so their rounding differs from a sequential loop by float
/// re-association only (covered by the 1e-5 tolerances of the reference tests).
public enum VectorMath {
    /// Eight floats: one AVX register.
    public typealias Vector = SIMD8<Float>
    /// Lanes of `Vector`.
    public static var width: Int { 8 }

    /// The `width` floats at `p` (no alignment needed).
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    /// Writes `v` to the `width` floats at `p` (no alignment needed).
    @inlinable @inline(__always)
    public static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// Loads `count < width` elements, filling the rest with `fill`.
    @inlinable @inline(__always)
    public static func loadPartial(_ p: UnsafePointer<Float>, count: Int, fill: Float = 0) -> Vector {
        var v = Vector(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    /// a · b + c with one rounding (`vfmadd`): half the instructions and half the latency of a
    /// multiply then an add, which is what the polynomials below are made of.
    @inlinable @inline(__always)
    public static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector {
        c.addingProduct(a, b)
    }

    /// e^x, Cephes' `expf` scheme: x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for e^r
    /// (Horner's rule in fused multiply-adds), then 2^n through the exponent bits. Relative error
    /// ≤ 2 ulp for x in [−87.3, 88.7]; inputs are clamped to that range (so e^−∞ gives ≈1e−38,
    /// not 0: mask explicitly).
    @inlinable @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        let low = Vector(repeating: -87.33654), high = Vector(repeating: 88.72283)
        var clamped = x.replacing(with: low, where: x .< low)
        clamped = clamped.replacing(with: high, where: clamped .> high)
        // Round to nearest with the 1.5·2²³ trick: after the add, the low mantissa bits hold n,
        // which avoids per-lane float→int conversions (scalar calls in Swift's generic SIMD code).
        let magic = Vector(repeating: 12_582_912)
        let shifted = fma(clamped, Vector(repeating: 1.44269504088896341), magic)
        let n = shifted - magic
        // r = x − n·ln2 in two parts (Cody–Waite): n·0.693359375 is exact.
        var r = fma(n, Vector(repeating: -0.693359375), clamped)
        r = fma(n, Vector(repeating: 2.12194440e-4), r)
        let z = r * r
        var y = Vector(repeating: 1.9875691500e-4)
        y = fma(y, r, Vector(repeating: 1.3981999507e-3))
        y = fma(y, r, Vector(repeating: 8.3334519073e-3))
        y = fma(y, r, Vector(repeating: 4.1665795894e-2))
        y = fma(y, r, Vector(repeating: 1.6666665459e-1))
        y = fma(y, r, Vector(repeating: 5.0000001201e-1))
        y = fma(y, z, r) + 1
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000  // n as an integer
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: Vector.self)  // 2ⁿ
        return y * scale
    }

    /// Σ p[0..<n].
    @inlinable @inline(__always)
    public static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector.zero
        var i = 0
        while i + width <= n {
            acc += load(p + i)
            i += width
        }
        var s = acc.sum()
        while i < n {
            s += p[i]
            i += 1
        }
        return s
    }

    /// Σ p[i]·q[i].
    @inlinable @inline(__always)
    public static func dot(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector.zero
        var i = 0
        while i + width <= n {
            acc += load(p + i) * load(q + i)
            i += width
        }
        var s = acc.sum()
        while i < n {
            s += p[i] * q[i]
            i += 1
        }
        return s
    }

    /// Lane-wise max(a, b) as a compare and blend (`pointwiseMax` is a generic call, not inlined).
    @inlinable @inline(__always)
    public static func maximum(_ a: Vector, _ b: Vector) -> Vector {
        a.replacing(with: b, where: b .> a)
    }

    /// max p[0..<n] (−∞ for n = 0).
    @inlinable @inline(__always)
    public static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector(repeating: -.infinity)
        var i = 0
        while i + width <= n {
            acc = maximum(acc, load(p + i))
            i += width
        }
        var m = acc.max()
        while i < n {
            m = Swift.max(m, p[i])
            i += 1
        }
        return m
    }

    /// y[i] += x[i].
    @inlinable @inline(__always)
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n {
            store(load(y + i) + load(x + i), y + i)
            i += width
        }
        while i < n {
            y[i] += x[i]
            i += 1
        }
    }
}

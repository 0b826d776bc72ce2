import FTCore
import TestSupport
import XCTest

/// bf16 products (`BF16Products`, `MatrixProduct`) against Double references, in every transpose
/// combination, odd and tail shapes, strided operands, alpha and beta, on the bf16-instruction
/// path and on the forced float32 fallback.
///
/// Bounds, per element (i, j), with S = Σ_p |a_ip|·|b_pj| over the float32 operands and u = 2^-8
/// (bf16's unit roundoff: 8 significant bits, round to nearest):
/// - against the exact product of the float32 operands: |c − A·B| ≤ (2u + u² + k·2^-24 + 2^-24)·S
///   = (2^-7 + 2^-16 + (k + 1)·2^-24)·S — each factor rounds once to bf16 (relative error ≤ u),
///   the k products summed in float32 (≤ k·2^-24·S, first order), the result stored once;
/// - against the exact product of the bf16-rounded operands Â·B̂: |c − Â·B̂| ≤ (k + 1)·2^-24·Ŝ —
///   only float32 accumulation remains, which shows the kernel rounds its inputs to nearest bf16
///   (truncation would miss this bound) and accumulates in float32, not bf16.
final class BF16ProductsTests: XCTestCase {
    override func tearDown() {
        BF16Products.forceFallback = false
        super.tearDown()
    }

    /// Shapes: single elements, tails of 16/32-wide blocks, primes, long inner dimensions.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 17, 3), (5, 7, 3), (17, 33, 65), (31, 1, 129), (64, 48, 16), (3, 130, 257), (9, 20, 1536),
    ]

    func testBoundsOnEveryShapeAndTransposition() {
        for shape in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(shape, transA: transA, transB: transB, alpha: 1, beta: 0, pad: 0)
                }
            }
        }
    }

    /// MiniLM's products, rows cut to 16: forward qkv (NT), backward dInput (NN) and dWeight (TN).
    func testMiniLMProductShapes() {
        check((m: 16, n: 1152, k: 384), transA: false, transB: true, alpha: 1, beta: 0, pad: 0)
        check((m: 16, n: 384, k: 1536), transA: false, transB: false, alpha: 1, beta: 1, pad: 0)
        check((m: 96, n: 96, k: 512), transA: true, transB: false, alpha: 1, beta: 1, pad: 0)
    }

    func testStridedOperandsAlphaAndBeta() {
        for shape in [(m: 7, n: 9, k: 33), (m: 33, n: 17, k: 5)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(shape, transA: transA, transB: transB, alpha: 0.5, beta: 1, pad: 3)
                    check(shape, transA: transA, transB: transB, alpha: 1, beta: 0.25, pad: 1)
                }
            }
        }
    }

    /// The bf16 path really rounds: a product that float32 computes exactly but bf16 cannot.
    func testInputsAreRoundedToBF16() throws {
        try XCTSkipUnless(BF16Products.usesBF16Instructions, "no avx512_bf16 here: covered by the fallback test")
        // 1 + 2^-10 is exact in float32 and rounds to 1 in bf16.
        let a: [Float] = [1 + 0x1p-10], b: [Float] = [1]
        var c: [Float] = [0]
        BF16Products.gemm(transA: false, transB: false, m: 1, n: 1, k: 1, a: a, lda: 1, b: b, ldb: 1, beta: 0, c: &c, ldc: 1)
        XCTAssertEqual(c[0], 1)
        // Round to nearest even at the tie: 1 + 3·2^-8 → 1 + 2^-6 (truncation would give 1 + 2^-7).
        let tie: [Float] = [1 + 3 * 0x1p-8]
        BF16Products.gemm(transA: false, transB: false, m: 1, n: 1, k: 1, a: tie, lda: 1, b: b, ldb: 1, beta: 0, c: &c, ldc: 1)
        XCTAssertEqual(c[0], 1 + 0x1p-6)
    }

    /// The forced fallback is float32 `sgemm` exactly, whatever the CPU.
    func testForcedFallbackIsFloat32() {
        BF16Products.forceFallback = true
        XCTAssertFalse(BF16Products.usesBF16Instructions)
        for shape in Self.shapes.prefix(6) {
            for transA in [false, true] {
                for transB in [false, true] {
                    let (m, n, k) = shape
                    let a = testValues(m * k, seed: 11), b = testValues(k * n, seed: 12)
                    var c = [Float](repeating: 0.5, count: m * n), expected = c
                    BF16Products.gemm(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: 2, a: a, lda: transA ? m : k,
                        b: b, ldb: transB ? k : n, beta: 1, c: &c, ldc: n)
                    BLAS.sgemm(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: 2, a: a, lda: transA ? m : k,
                        b: b, ldb: transB ? k : n, beta: 1, c: &expected, ldc: n)
                    XCTAssertEqual(c, expected, "\(shape) transA \(transA) transB \(transB)")
                }
            }
        }
        check((m: 17, n: 33, k: 65), transA: true, transB: false, alpha: 1, beta: 0, pad: 0)
    }

    /// Split across slice threads (each slice its own oneDNN call, concurrently, each a first use
    /// of its shape on its thread) gives the single call's values, repeatably.
    func testParallelSplitProducts() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for (index, m) in [96, 97, 130, 64, 200].enumerated() {
            let n = 80 + index, k = 200 + 3 * index
            let a = testValues(m * k, seed: 21), b = testValues(n * k, seed: 22)
            var whole = [Float](repeating: 0, count: m * n)
            BF16Products.gemm(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, beta: 0, c: &whole, ldc: n)
            for threads in [2, 3, 2] {
                Parallel.threadCount = threads
                var split = [Float](repeating: 0, count: m * n)
                split.withUnsafeMutableBufferPointer { c in
                    Parallel.sgemm(
                        precision: .bfloat16, transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                        beta: 0, c: c.baseAddress!, ldc: n)
                }
                assertClose(split, whole, atol: 1e-5, rtol: 1e-5, "row slices against one call, m \(m), \(threads) threads")
            }
        }
    }

    /// The vectorised rounding equals the scalar rule on specials, ties and every tail length.
    func testConversionMatchesScalarRounding() {
        var values: [Float] = [
            0, -0, 1, -1, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFF80_0001),
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
            1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-9, 1 + 3 * 0x1p-9, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000),
        ]
        values += testValues(37, seed: 31, scale: 1e3)
        for count in 0...values.count {
            var out = [UInt16](repeating: 0xAAAA, count: count + 1)
            BF16Conversion.round(values, count: count, into: &out)
            for i in 0..<count {
                XCTAssertEqual(out[i], HalfPrecision.bf16Bits(from: values[i]), "element \(i) of \(count): \(values[i])")
            }
            XCTAssertEqual(out[count], 0xAAAA, "wrote past \(count)")
        }
    }

    // MARK: - Helpers

    /// One product against both bounds. `pad` widens every leading dimension (strided operands).
    private func check(_ shape: (m: Int, n: Int, k: Int), transA: Bool, transB: Bool, alpha: Float, beta: Float, pad: Int) {
        let (m, n, k) = shape
        let aRows = transA ? k : m, aColumns = transA ? m : k, bRows = transB ? n : k, bColumns = transB ? k : n
        let lda = aColumns + pad, ldb = bColumns + pad, ldc = n + pad
        let a = testValues(aRows * lda, seed: UInt64(m * 7 + k), scale: 2), b = testValues(bRows * ldb, seed: UInt64(n * 5 + k), scale: 3)
        let c0 = testValues(m * ldc, seed: 99)
        var c = c0
        BF16Products.gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
            beta: beta, c: &c, ldc: ldc)
        let rounded = { (x: Float) -> Float in HalfPrecision.float(fromBF16Bits: HalfPrecision.bf16Bits(from: x)) }
        let bf16 = BF16Products.usesBF16Instructions
        let eps = 0x1p-24
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, exactRounded = 0.0, s = 0.0, sRounded = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p], y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    exact += Double(x) * Double(y)
                    exactRounded += Double(rounded(x)) * Double(rounded(y))
                    s += abs(Double(x) * Double(y))
                    sRounded += abs(Double(rounded(x)) * Double(rounded(y)))
                }
                let old = Double(c0[i * ldc + j]) * Double(beta), got = Double(c[i * ldc + j])
                let scale = Double(abs(alpha))
                // The old value joins with one more float32 rounding.
                let slack = (abs(old) + abs(got)) * 2 * eps + 1e-30
                let fromExact = abs(got - old - Double(alpha) * exact)
                let boundExact = scale * (0x1p-7 + 0x1p-16 + Double(k + 1) * eps) * s + slack
                XCTAssertLessThanOrEqual(fromExact, boundExact, "(\(i), \(j)) of \(shape) tA \(transA) tB \(transB)")
                worst = max(worst, fromExact / max(boundExact, 1e-30))
                if bf16 {
                    let fromRounded = abs(got - old - Double(alpha) * exactRounded)
                    let boundRounded = scale * Double(k + 1) * eps * sRounded + slack
                    XCTAssertLessThanOrEqual(fromRounded, boundRounded, "(\(i), \(j)) of \(shape): not bf16 inputs with float32 sums")
                }
            }
        }
        // Padding columns of C are never written.
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) } }
        XCTAssertLessThanOrEqual(worst, 1)
    }
}

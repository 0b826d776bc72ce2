import FTCore
import TestSupport
import XCTest

/// The u8 × s8 → s32 kernels against an integer triple loop (exact equality), on every path
/// (oneDNN over its reordered weights and the own VNNI kernel where the CPU has VNNI, the AVX2
/// kernel where it has AVX2, the portable kernel always — forced the way `FTTRAIN_INT8_KERNEL` does), over shapes that hit every tail: rows not a multiple of the 4-row tile or the 64-row
/// chunk, columns not a multiple of 16 or 64, inputs not a multiple of 4; and extreme bytes
/// (255 × −127, 255 × 127 over the longest k, where a 16-bit pair sum would saturate).
final class Int8ProductTests: XCTestCase {
    /// A deterministic byte stream (64-bit LCG).
    struct Bytes {
        var state: UInt64
        mutating func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Every kernel this CPU runs (on the Xeon of CI: all four).
    static var kernels: [Int8Kernel] {
        (Int8Products.cpuHasVNNI ? [.onednn, .vnni] : []) + (Int8Products.cpuHasAVX2 ? [.avx2] : []) + [.portable]
    }

    /// C through `Int8Weights.product` (every kernel; the packed and oneDNN layouts made from `b`).
    /// `dense`: C exactly n wide (the layout inference uses, where oneDNN runs its brgemm kernels);
    /// else wider than n (ldc n + 3) with a sentinel: the kernels must not write past column n.
    func product(_ kernel: Int8Kernel, a: [UInt8], lda: Int, b: [Int8], m: Int, n: Int, k: Int, dense: Bool = false) -> [Int32] {
        let weights = Int8Weights(values: b, scales: [Float](repeating: 1, count: n), outputs: n, inputs: k)
        let ldc = dense ? n : n + 3
        var c = [Int32](repeating: -7, count: m * ldc)
        let ran = weights.product(a: a, lda: lda, c: &c, ldc: ldc, rows: m, kernel: kernel)
        // oneDNN takes every dense shape (inputs a multiple of 4: rows unpadded), as in inference.
        if kernel == .onednn && dense && k % 4 == 0 { XCTAssertEqual(ran, .onednn, "m \(m) n \(n) k \(k)") }
        if kernel != .onednn { XCTAssertEqual(ran, kernel) }
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], -7, "\(kernel) wrote past column \(n)") } }
        return (0..<m).flatMap { i in c[(i * ldc)..<(i * ldc + n)] }
    }

    static func reference(a: [UInt8], lda: Int, b: [Int8], m: Int, n: Int, k: Int) -> [Int32] {
        var c = [Int32](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Int64 = 0
                for p in 0..<k { s += Int64(a[i * lda + p]) * Int64(b[j * k + p]) }
                c[i * n + j] = Int32(s)
            }
        }
        return c
    }

    func testEveryKernelEqualsTheIntegerReferenceOnOddShapes() {
        var bytes = Bytes(state: 21)
        let shapes = [
            (1, 1, 1), (3, 15, 3), (4, 16, 4), (5, 17, 5), (7, 63, 383), (9, 64, 384), (67, 65, 7),
            (130, 200, 385), (4, 130, 1536), (2, 1152, 384),
        ]
        for (m, n, k) in shapes {
            let lda = Int8Products.paddedInputs(k)
            // Rows padded past k with garbage: the kernels must multiply it by packed zeros.
            let a = (0..<(m * lda)).map { _ in bytes.next() }
            let b = (0..<(n * k)).map { _ in Int8(truncatingIfNeeded: bytes.next()) }
            let expected = Self.reference(a: a, lda: lda, b: b, m: m, n: n, k: k)
            for kernel in Self.kernels {
                XCTAssertEqual(product(kernel, a: a, lda: lda, b: b, m: m, n: n, k: k), expected, "\(kernel) m \(m) n \(n) k \(k)")
                XCTAssertEqual(
                    product(kernel, a: a, lda: lda, b: b, m: m, n: n, k: k, dense: true), expected, "\(kernel) dense m \(m) n \(n) k \(k)")
            }
        }
    }

    func testExtremeBytesDoNotSaturate() {
        let m = 5, n = 33, k = 1536, lda = k
        let a = [UInt8](repeating: 255, count: m * lda)
        // Alternate channels all +127, all −128, all −127.
        let b = (0..<(n * k)).map { i -> Int8 in [127, -128, -127][(i / k) % 3] }
        let expected = Self.reference(a: a, lda: lda, b: b, m: m, n: n, k: k)
        XCTAssertEqual(expected[0], 255 * 127 * 1536)
        for kernel in Self.kernels {
            XCTAssertEqual(product(kernel, a: a, lda: lda, b: b, m: m, n: n, k: k), expected, "\(kernel)")
        }
    }

    /// Output channels `columns` alone (`Int8Weights.product(columns:)`, what `Int8Linear`'s column
    /// split runs per thread) on every kernel, into a dense C: the reference's columns exactly.
    func testColumnRangesEqualTheReferenceColumns() {
        var bytes = Bytes(state: 7)
        for (m, n, k, ranges) in [(5, 70, 385, [0..<32, 32..<70, 16..<48, 64..<70]), (16, 1152, 384, [0..<576, 576..<1152])] {
            let lda = Int8Products.paddedInputs(k)
            let a = (0..<(m * lda)).map { _ in bytes.next() }
            let b = (0..<(n * k)).map { _ in Int8(truncatingIfNeeded: bytes.next()) }
            let expected = Self.reference(a: a, lda: lda, b: b, m: m, n: n, k: k)
            let weights = Int8Weights(values: b, scales: [Float](repeating: 1, count: n), outputs: n, inputs: k)
            for kernel in Self.kernels {
                for range in ranges {
                    var c = [Int32](repeating: -7, count: m * range.count)
                    let ran = weights.product(a: a, lda: lda, c: &c, ldc: range.count, rows: m, columns: range, kernel: kernel)
                    if kernel != .onednn { XCTAssertEqual(ran, kernel) }
                    let want = (0..<m).flatMap { i in expected[(i * n + range.lowerBound)..<(i * n + range.upperBound)] }
                    XCTAssertEqual(c, want, "\(kernel) m \(m) n \(n) k \(k) columns \(range)")
                }
            }
        }
    }

    func testDispatchFollowsTheSetting() {
        XCTAssertEqual(Int8Products.defaultKernel(environment: "portable"), .portable)
        XCTAssertEqual(Int8Products.defaultKernel(environment: "PORTABLE"), .portable)
        let best: Int8Kernel = Int8Products.cpuHasVNNI ? .onednn : Int8Products.cpuHasAVX2 ? .avx2 : .portable
        XCTAssertEqual(Int8Products.defaultKernel(environment: nil), best)
        let below: Int8Kernel = Int8Products.cpuHasAVX2 ? .avx2 : .portable
        XCTAssertEqual(Int8Products.defaultKernel(environment: "vnni"), Int8Products.cpuHasVNNI ? .vnni : below)
        XCTAssertEqual(Int8Products.defaultKernel(environment: "onednn"), Int8Products.cpuHasVNNI ? .onednn : below)
        XCTAssertEqual(Int8Products.defaultKernel(environment: "avx2"), below)
        // Any CPU: VNNI → oneDNN; AVX2 without VNNI → the AVX2 kernel; neither → portable; a
        // forced kernel the CPU lacks falls back to the best one below it.
        let cases: [(String?, Bool, Bool, Int8Kernel)] = [
            (nil, true, true, .onednn), (nil, false, true, .avx2), (nil, false, false, .portable),
            ("avx2", true, true, .avx2), ("AVX2", false, true, .avx2), ("avx2", false, false, .portable),
            ("vnni", true, true, .vnni), ("vnni", false, true, .avx2), ("onednn", false, false, .portable),
            ("portable", true, true, .portable), ("no-such-kernel", false, true, .avx2),
        ]
        for (value, vnni, avx2, expected) in cases {
            XCTAssertEqual(
                Int8Products.defaultKernel(environment: value, hasVNNI: vnni, hasAVX2: avx2), expected,
                "FTTRAIN_INT8_KERNEL=\(value ?? "unset") vnni \(vnni) avx2 \(avx2)")
        }
    }
}

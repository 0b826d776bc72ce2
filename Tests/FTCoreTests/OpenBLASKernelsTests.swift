import FTCore
import Foundation
import TestSupport
import XCTest

/// OpenBLAS's kernels after fttrain's first parallel use: never the SSE3 fallback on a CPU with
/// AVX2 and FMA (unless OPENBLAS_CORETYPE asks for it), and products still equal a naive loop.
final class OpenBLASKernelsTests: XCTestCase {
    func testWideKernelsOnAWideCPU() throws {
        Parallel.pinBLASThreads()
        let flags =
            try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ")) } ?? []
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, flags.contains("avx2"), flags.contains("fma")
        else {
            // The user's (or OpenBLAS's own) choice stands.
            XCTAssertNil(OpenBLASKernels.selectedCore)
            return
        }
        XCTAssertNotEqual(OpenBLASKernels.coreName, "Prescott", "OpenBLAS runs its SSE3 fallback on an AVX2 CPU")
        if flags.contains("avx512f"), let selected = OpenBLASKernels.selectedCore {
            XCTAssertEqual(selected, "SkylakeX")
        }
    }

    func testProductsAfterSelectionEqualANaiveLoop() {
        Parallel.pinBLASThreads()
        // Sizes past every kernel's blocking (and odd, so edge kernels run too).
        for (m, n, k) in [(1, 577, 131), (37, 65, 129), (130, 259, 67)] {
            for transB in [false, true] {
                let a = testValues(m * k, seed: 11), b = testValues(k * n, seed: 12)
                var c = [Float](repeating: 0, count: m * n)
                BLAS.sgemm(
                    transA: false, transB: transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transB ? k : n,
                    beta: 0, c: &c, ldc: n)
                let expected = NaiveMath.matmul(transA: false, transB: transB, m: m, n: n, k: k, a: a, b: b)
                assertClose(c, expected, atol: 1e-5, rtol: 1e-5, "\(m)×\(n)×\(k) transB \(transB) on \(OpenBLASKernels.coreName)")
            }
        }
    }
}

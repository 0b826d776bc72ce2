import FTCore
import TestSupport
import XCTest

/// fttrain's own threads: how work is sliced, and products split across them.
final class ParallelTests: XCTestCase {
    private var savedThreads = 1
    override func setUp() { savedThreads = Parallel.threadCount }
    override func tearDown() { Parallel.threadCount = savedThreads }

    func testSlicesCoverTheRangeOnceAtTheGranularity() {
        Parallel.threadCount = 3
        let lock = NSLock()
        var seen: [(Int, Range<Int>)] = []
        Parallel.forEachSlice(of: 1000, granularity: 64) { index, range in
            lock.lock()
            seen.append((index, range))
            lock.unlock()
        }
        seen.sort { $0.0 < $1.0 }
        XCTAssertEqual(seen.map(\.0), [0, 1, 2])
        XCTAssertEqual(seen.first?.1.lowerBound, 0)
        XCTAssertEqual(seen.last?.1.upperBound, 1000)
        for (a, b) in zip(seen, seen.dropFirst()) { XCTAssertEqual(a.1.upperBound, b.1.lowerBound) }
        for (_, range) in seen.dropFirst() { XCTAssertEqual(range.lowerBound % 64, 0, "\(range)") }
        XCTAssertEqual(Parallel.sliceCount(of: 1000, granularity: 64), 3)
        XCTAssertEqual(Parallel.sliceCount(of: 100, granularity: 64), 2)
        XCTAssertEqual(Parallel.sliceCount(of: 0), 0)
    }

    func testNestedSlicesRunInlineAsOne() {
        Parallel.threadCount = 2
        let lock = NSLock()
        var inner: [Int] = []
        Parallel.forEachSlice(of: 2) { _ in
            let count = Parallel.sliceCount(of: 100)
            Parallel.forEachSlice(of: 100) { index, range in
                XCTAssertEqual(range, 0..<100)
                XCTAssertEqual(index, 0)
            }
            lock.lock()
            inner.append(count)
            lock.unlock()
        }
        XCTAssertEqual(inner, [1, 1])
        XCTAssertEqual(Parallel.sliceCount(of: 100), 2, "outside slices again")
    }

    /// Split by rows (m ≥ n) and by columns (n > m), with transposes, strides and beta = 1,
    /// against the single product.
    func testSplitProductEqualsTheWholeOne() {
        Parallel.threadCount = 2
        let shapes = [(m: 70, n: 33, k: 19), (m: 9, n: 100, k: 21), (m: 3, n: 5, k: 4)]
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 3, ldc = n + 1
                    let a = testValues((transA ? k : m) * lda, seed: 1), b = testValues((transB ? n : k) * ldb, seed: 2)
                    let start = testValues(m * ldc, seed: 3)
                    var whole = start, split = start
                    BLAS.sgemm(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                        b: b, ldb: ldb, beta: 1, c: &whole, ldc: ldc)
                    Parallel.sgemm(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                        b: b, ldb: ldb, beta: 1, c: &split, ldc: ldc)
                    assertClose(split, whole, atol: 1e-6, rtol: 1e-6, "\(m)x\(n)x\(k) transA \(transA) transB \(transB)")
                    for i in 0..<m { XCTAssertEqual(split[i * ldc + n], start[i * ldc + n], "padding column untouched") }
                }
            }
        }
    }
}

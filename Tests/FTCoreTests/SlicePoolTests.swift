import FTCore
import Foundation
import TestSupport
import XCTest

/// The spinning slice-thread pool under `Parallel.forEachSlice` (`SlicePool`, `CSpinPool`): every
/// slice runs once per dispatch over many back-to-back dispatches (spinning or parked), callers on
/// several threads at once each get their slices, idle workers park and use no CPU, and the
/// kernels that spread one text over the threads (attention heads, layer-norm rows) give the same
/// bits as on one thread.
final class SlicePoolTests: XCTestCase {
    private var savedThreads = 1, savedSpin = 0
    override func setUp() {
        savedThreads = Parallel.threadCount
        savedSpin = SlicePool.spinMicroseconds
    }
    override func tearDown() {
        Parallel.threadCount = savedThreads
        SlicePool.spinMicroseconds = savedSpin
        SlicePool.spreadsSmallWork = nil
    }

    /// 3 slices, 20,000 dispatches back to back, with a spin window and without (every hand-over
    /// through the futex): each slice's counter moves exactly once per dispatch.
    func testBackToBackDispatchesRunEverySliceOnce() {
        Parallel.threadCount = 3
        for spin in [100, 0] {
            SlicePool.spinMicroseconds = spin
            var counts = [Int](repeating: 0, count: 3)
            counts.withUnsafeMutableBufferPointer { counts in
                let base = UncheckedPointer(counts.baseAddress!)
                for _ in 0..<20_000 {
                    Parallel.forEachSlice(of: 3) { index, range in
                        XCTAssertEqual(range, index..<(index + 1))
                        base.pointer[index] += 1
                    }
                }
            }
            XCTAssertEqual(counts, [20_000, 20_000, 20_000], "spin \(spin) µs")
        }
        XCTAssertGreaterThanOrEqual(SlicePool.workerCount, 2)
    }

    /// Four threads slicing their own work at once: one holds the pool, the others fall back to
    /// libdispatch; every dispatch of every thread sums its whole range.
    func testConcurrentCallersEachGetTheirSlices() {
        Parallel.threadCount = 2
        let totals = UncheckedPointer(UnsafeMutablePointer<Int>.allocate(capacity: 4))
        defer { totals.pointer.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            var total = 0
            for _ in 0..<500 {
                var parts = [0, 0]
                parts.withUnsafeMutableBufferPointer { parts in
                    let p = UncheckedPointer(parts.baseAddress!)
                    Parallel.forEachSlice(of: 100) { index, range in p.pointer[index] = range.reduce(0, +) }
                }
                total += parts[0] + parts[1]
            }
            totals.pointer[caller] = total
        }
        for caller in 0..<4 { XCTAssertEqual(totals.pointer[caller], 500 * 4950, "caller \(caller)") }
    }

    /// After the spin window, workers park: 0.2 s of idleness costs the process (nearly) no CPU
    /// time, where one spinning worker would have used all of it.
    func testIdleWorkersParkAndUseNoCPU() {
        Parallel.threadCount = 2
        SlicePool.spinMicroseconds = 200
        for _ in 0..<100 { Parallel.forEachSlice(of: 2) { _ in } }
        usleep(20_000)  // a hundred spin windows
        XCTAssertEqual(SlicePool.parkedWorkers, SlicePool.workerCount)
        let before = processCPUSeconds()
        usleep(200_000)
        let used = processCPUSeconds() - before
        XCTAssertLessThan(used, 0.02, "CPU seconds used by an idle process over 0.2 s")
    }

    /// One sequence (and two) with padding: attention across heads on 2 threads is the
    /// per-sequence loop of 1 thread to the bit, for every query and for the first query only.
    func testAttentionAcrossHeadsEqualsOneThread() {
        let T = 13, C = 48, NH = 6
        SlicePool.spreadsSmallWork = true  // whether the workers spin or not
        for B in [1, 2] {
            let qkv = testValues(B * T * 3 * C, seed: 5)
            let mask = (0..<(B * T)).map { Int32($0 % T < T - 4 * ($0 / T) - 2 ? 1 : 0) }
            func attend(threads: Int, firstQuery: Bool) -> [Float] {
                Parallel.threadCount = threads
                var context = [Float](repeating: .nan, count: B * (firstQuery ? 1 : T) * C)
                var scratch = [Float](repeating: 0, count: B * T * T)
                if firstQuery {
                    SelfAttention.forwardFirstQuery(
                        context: &context, probabilities: &scratch, qkv: qkv, attentionMask: mask,
                        batch: B, sequence: T, channels: C, heads: NH, keepProbabilities: false)
                } else {
                    SelfAttention.forward(
                        context: &context, probabilities: &scratch, qkv: qkv, attentionMask: mask,
                        batch: B, sequence: T, channels: C, heads: NH, keepProbabilities: false)
                }
                return context
            }
            for firstQuery in [false, true] {
                let one = attend(threads: 1, firstQuery: firstQuery), two = attend(threads: 2, firstQuery: firstQuery)
                XCTAssertFalse(one.contains { $0.isNaN }, "B \(B), first query \(firstQuery): every context value written")
                XCTAssertEqual(one, two, "B \(B), first query \(firstQuery)")
            }
        }
    }

    /// Layer-norm rows across threads (25 rows of 384, as one served text) are one thread's bits.
    func testLayerNormRowsAcrossThreadsEqualOneThread() {
        let N = 25, C = 384
        SlicePool.spreadsSmallWork = true
        let x = testValues(N * C, seed: 7), gamma = testValues(C, seed: 8), beta = testValues(C, seed: 9)
        func normalize(threads: Int) -> [Float] {
            Parallel.threadCount = threads
            var y = [Float](repeating: .nan, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            LayerNorm.forward(
                output: &y, mean: &mean, rstd: &rstd, input: x, gamma: gamma, beta: beta, rows: N, channels: C, epsilon: 1e-12)
            return y + mean + rstd
        }
        XCTAssertEqual(Parallel.sliceCount(of: N, granularity: 4096 / C), 2)
        XCTAssertEqual(normalize(threads: 1), normalize(threads: 2))
    }

    private func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// A pointer the slices write through (disjoint elements, so no race).
private struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

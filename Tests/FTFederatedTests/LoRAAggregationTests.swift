import FTCore
@testable import FTFederated
import XCTest

/// Each aggregation mode against its closed form, computed here in double precision.
final class LoRAAggregationTests: XCTestCase {
    private var rng = SeededRNG(seed: 21)

    private func factors(rank: Int, inFeatures: Int = 7, outFeatures: Int = 5, a: [Float]? = nil) -> LoRAFactors {
        var copy = rng
        defer { rng = copy }
        let aValues = a ?? (0..<(rank * inFeatures)).map { _ in copy.nextNormal() }
        let bValues = (0..<(outFeatures * rank)).map { _ in copy.nextNormal() }
        return LoRAFactors(a: aValues, b: bValues, rank: rank, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    private func assertClose(_ x: [Double], _ y: [Double], _ tolerance: Double, _ message: String, line: UInt = #line) {
        XCTAssertEqual(x.count, y.count, line: line)
        let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, message, line: line)
    }

    func testFedAvgAveragesFactorsByExamples() throws {
        let f1 = factors(rank: 2), f2 = factors(rank: 2), g = factors(rank: 2)
        let updates = [
            AdapterUpdate(modules: ["q"], factors: [f1], dense: ["head": [1, 2]], examples: 1),
            AdapterUpdate(modules: ["q"], factors: [f2], dense: ["head": [5, 6]], examples: 3),
        ]
        let global = AdapterUpdate(modules: ["q"], factors: [g], dense: ["head": [0, 0]], examples: 0)
        let result = try LoRAAggregation.aggregate(updates, global: global, mode: .fedavg)
        let q = try XCTUnwrap(result.modules["q"])
        assertClose(q.a.map(Double.init), zip(f1.a, f2.a).map { (Double($0) + 3 * Double($1)) / 4 }, 1e-6, "A")
        assertClose(q.b.map(Double.init), zip(f1.b, f2.b).map { (Double($0) + 3 * Double($1)) / 4 }, 1e-6, "B")
        XCTAssertEqual(result.dense["head"], [4, 5])
        XCTAssertEqual(result.examples, 4)
        // Not exact: the product of the means differs from the mean of the products.
        let meanOfProducts = zip(f1.product, f2.product).map { ($0 + 3 * $1) / 4 }
        XCTAssertGreaterThan(zip(q.product, meanOfProducts).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testFFALoRAIsExact() throws {
        let shared = factors(rank: 3).a
        let f1 = factors(rank: 3, a: shared), f2 = factors(rank: 3, a: shared), g = factors(rank: 3, a: shared)
        let updates = [AdapterUpdate(modules: ["v"], factors: [f1], examples: 2), AdapterUpdate(modules: ["v"], factors: [f2], examples: 6)]
        let global = AdapterUpdate(modules: ["v"], factors: [g], examples: 0)
        let v = try XCTUnwrap(try LoRAAggregation.aggregate(updates, global: global, mode: .ffa).modules["v"])
        XCTAssertEqual(v.a, shared)
        assertClose(v.product, zip(f1.product, f2.product).map { 0.25 * $0 + 0.75 * $1 }, 1e-5, "B·A is the mean of the updates")
        var moved = f2
        moved.a[0] += 1
        XCTAssertThrowsError(
            try LoRAAggregation.aggregate(
                [AdapterUpdate(modules: ["v"], factors: [moved], examples: 1)],
                global: global, mode: .ffa)
        ) {
            XCTAssertTrue("\($0)".contains("frozen A"), "\($0)")
        }
    }

    /// Sites of rank 2 and 3; the global rank 5 holds their mean exactly, rank 2 keeps its best
    /// rank-2 approximation (Eckart–Young: the residual is the dropped singular values).
    func testSVDModeEqualsTheMeanOfProductsWhenTheRankAllows() throws {
        let f1 = factors(rank: 2), f2 = factors(rank: 3)
        let updates = [AdapterUpdate(modules: ["o"], factors: [f1], examples: 1), AdapterUpdate(modules: ["o"], factors: [f2], examples: 1)]
        let mean = zip(f1.product, f2.product).map { ($0 + $1) / 2 }
        let exact = try LoRAAggregation.aggregate(
            updates, global: AdapterUpdate(modules: ["o"], factors: [factors(rank: 5)], examples: 0), mode: .svd)
        assertClose(try XCTUnwrap(exact.modules["o"]).product, mean, 1e-5, "rank 5 holds the mean of the products")

        let truncated = try XCTUnwrap(
            try LoRAAggregation.aggregate(
                updates, global: AdapterUpdate(modules: ["o"], factors: [factors(rank: 2)], examples: 0), mode: .svd
            ).modules["o"])
        let svd = try SingularValueDecomposition(mean, rows: 5, columns: 7)
        let residual = zip(truncated.product, mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let dropped = svd.singularValues.dropFirst(2).map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertEqual(residual, dropped, accuracy: 1e-5)
        XCTAssertGreaterThan(dropped, 0.1, "the mean really has rank > 2")
    }

    func testServerLearningRateMovesPartWay() throws {
        let g = factors(rank: 2), f = factors(rank: 2)
        let global = AdapterUpdate(modules: ["q"], factors: [g], dense: ["h": [0]], examples: 0)
        let half = try LoRAAggregation.aggregate(
            [AdapterUpdate(modules: ["q"], factors: [f], dense: ["h": [2]], examples: 5)],
            global: global, mode: .fedavg, serverLearningRate: 0.5)
        assertClose(half.modules["q"]!.a.map(Double.init), zip(g.a, f.a).map { (Double($0) + Double($1)) / 2 }, 1e-6, "halfway")
        XCTAssertEqual(half.dense["h"], [1])
    }

    func testMismatchedUpdatesAreRejected() throws {
        let global = AdapterUpdate(modules: ["q"], factors: [factors(rank: 2)], examples: 0)
        XCTAssertThrowsError(try LoRAAggregation.aggregate([], global: global, mode: .fedavg)) {
            XCTAssertEqual($0 as? AggregationError, .noUpdates)
        }
        XCTAssertThrowsError(
            try LoRAAggregation.aggregate(
                [AdapterUpdate(modules: ["q"], factors: [factors(rank: 3)], examples: 1)],
                global: global, mode: .fedavg)
        ) {
            XCTAssertTrue("\($0)".contains("rank 3"), "\($0)")
        }
        XCTAssertThrowsError(try LoRAAggregation.aggregate([AdapterUpdate(modules: [:], examples: 1)], global: global, mode: .svd)) {
            XCTAssertTrue("\($0)".contains("no q"), "\($0)")
        }
    }

    func testSVDReconstructsAndIsOrthonormal() throws {
        for (m, n) in [(6, 4), (3, 8), (5, 5)] {
            let matrix = (0..<(m * n)).map { _ in Double(rng.nextNormal()) }
            let svd = try SingularValueDecomposition(matrix, rows: m, columns: n)
            let k = min(m, n)
            var rebuilt = [Double](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    for r in 0..<k {
                        rebuilt[i * n + j] += svd.u[i * k + r] * svd.singularValues[r] * svd.vt[r * n + j]
                    }
                }
            }
            assertClose(rebuilt, matrix, 1e-10, "U S Vᵀ = A for \(m)x\(n)")
            XCTAssertEqual(svd.singularValues, svd.singularValues.sorted(by: >))
            for r in 0..<k {
                for t in 0..<k {
                    let dot = (0..<m).map { svd.u[$0 * k + r] * svd.u[$0 * k + t] }.reduce(0, +)
                    XCTAssertEqual(dot, r == t ? 1 : 0, accuracy: 1e-10)
                }
            }
        }
    }
}

private extension AdapterUpdate {
    init(modules names: [String], factors: [LoRAFactors], dense: [String: [Float]] = [:], examples: Int) {
        self.init(modules: Dictionary(uniqueKeysWithValues: zip(names, factors)), dense: dense, examples: examples)
    }
}

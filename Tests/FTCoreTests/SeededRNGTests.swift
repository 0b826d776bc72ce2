import FTCore
import XCTest

final class SeededRNGTests: XCTestCase {
    func testSameSeedSameStreamAndStateRestores() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
        var c = SeededRNG(state: a.state)
        XCTAssertEqual(a.next(), c.next())
        var other = SeededRNG(seed: 42, stream: 1)
        XCTAssertNotEqual(SeededRNG(seed: 42).state.0, other.state.0)
        _ = other.next()
    }

    func testDistributions() {
        var rng = SeededRNG(seed: 7)
        let uniforms = (0..<100_000).map { _ in rng.nextUniform() }
        XCTAssertTrue(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(Double(uniforms.reduce(0, +)) / 1e5, 0.5, accuracy: 0.01)
        let normals = (0..<100_000).map { _ in Double(rng.nextNormal()) }
        let mean = normals.reduce(0, +) / 1e5
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1e5
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
    }
}

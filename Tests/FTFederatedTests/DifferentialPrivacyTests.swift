import FTCore
@testable import FTFederated
import Foundation
import XCTest

/// The accountant against Opacus (`scripts/reference/make_privacy_reference.py`), and the noise
/// and clipping of the Gaussian mechanism against their definitions.
final class DifferentialPrivacyTests: XCTestCase {
    private struct Reference: Decodable {
        struct Case: Decodable { let q: Double, sigma: Double, rounds: Int, delta: Double, rdp: [Double], epsilon: Double, order: Int }
        let orders: [Int]
        let cases: [Case]
    }

    func testAccountantMatchesOpacus() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "rdp_reference", withExtension: "json", subdirectory: "Fixtures"))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        XCTAssertEqual(reference.orders, PrivacyAccountant.orders)
        for c in reference.cases {
            var accountant = PrivacyAccountant()
            accountant.record(samplingRate: c.q, noiseMultiplier: c.sigma, rounds: c.rounds - 1)
            accountant.record(samplingRate: c.q, noiseMultiplier: c.sigma)  // rounds add up
            XCTAssertEqual(accountant.rounds, c.rounds)
            for (mine, theirs) in zip(accountant.rdp, c.rdp) {
                XCTAssertEqual(mine, theirs, accuracy: 1e-9 * max(1, abs(theirs)), "RDP, q \(c.q) σ \(c.sigma)")
            }
            let (epsilon, order) = accountant.epsilon(delta: c.delta)
            XCTAssertEqual(epsilon, c.epsilon, accuracy: 1e-9 * c.epsilon, "ε, q \(c.q) σ \(c.sigma) rounds \(c.rounds)")
            XCTAssertEqual(order, c.order)
        }
        var noNoise = PrivacyAccountant()
        noNoise.record(samplingRate: 1, noiseMultiplier: 0)
        XCTAssertEqual(noNoise.epsilon(delta: 1e-5).epsilon, .infinity)
    }

    func testClippingBoundsTheNorm() {
        var big: [Float] = [3, 4]
        XCTAssertEqual(GaussianMechanism.clip(&big, maxNorm: 1), 5)
        XCTAssertEqual(Double(big[0]), 0.6, accuracy: 1e-7)
        XCTAssertEqual(Double(big[1]), 0.8, accuracy: 1e-7)
        var small: [Float] = [0.3, 0.4]
        GaussianMechanism.clip(&small, maxNorm: 1)
        XCTAssertEqual(small, [0.3, 0.4], "within the bound: untouched")
    }

    /// Four sites each add σC/√4: the sum of their noise has standard deviation σC.
    func testSiteNoiseSumsToTheMechanismsScale() {
        let sigma = 1.3, clip = 0.5, sites = 4, n = 50_000
        let perSite = GaussianMechanism.perSiteStandardDeviation(noiseMultiplier: sigma, clip: clip, sites: sites)
        XCTAssertEqual(perSite, sigma * clip / 2, accuracy: 1e-12)
        var total = [Float](repeating: 0, count: n)
        for site in 0..<sites {
            var noise = [Float](repeating: 0, count: n)
            var rng = SeededRNG(seed: 100 + UInt64(site))
            GaussianMechanism.addNoise(&noise, standardDeviation: perSite, rng: &rng)
            for i in 0..<n { total[i] += noise[i] }
        }
        let mean = total.reduce(0.0) { $0 + Double($1) } / Double(n)
        let std = (total.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 4 * sigma * clip / Double(n).squareRoot())
        XCTAssertEqual(std, sigma * clip, accuracy: 0.02 * sigma * clip)
    }
}

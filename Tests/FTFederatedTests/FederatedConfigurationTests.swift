@testable import FTFederated
import Foundation
import XCTest

/// The federated config: the local training keys pass through to `TrainingConfiguration`; the
/// federation and site sections are checked, each mistake named.
final class FederatedConfigurationTests: XCTestCase {
    private let keys = (0..<3).map { SiteKeys(site: "site-\($0 + 1)") }

    private func yaml(
        federation: String = "rounds: 5\n  aggregation: svd\n  min_sites: 2\n  round_deadline: 60\n  labels: [a, b]",
        ranks: [String] = ["[1, 2]", "3", "[4]"], extra: String = ""
    ) -> String {
        var text = """
            model_dir: /models/minilm
            output_dir: runs/fed
            learning_rate: 3.0e-4
            federation:
              \(federation)
            sites:

            """
        for (i, key) in keys.enumerated() {
            text += """
                  - name: site-\(i + 1)
                    ranks: \(ranks[i])
                    train_file: sites/site-\(i + 1).csv
                    public_key: \(key.publicKey)
                    key_agreement_key: \(key.keyAgreementKey)

                """
        }
        return text + extra
    }

    func testAValidFederation() throws {
        let c = try FederatedConfiguration.decode(yaml: yaml(), source: "fed.yaml")
        XCTAssertEqual(c.training.learningRate, 3e-4)
        XCTAssertEqual(c.settings.rounds, 5)
        XCTAssertEqual(c.settings.mode, .svd)
        XCTAssertEqual(c.settings.minimumSites, 2)
        XCTAssertEqual(c.sites.map(\.ranks), [[1, 2], [3], [4]])
        XCTAssertEqual(c.worldSize, 5)
        XCTAssertNil(c.settings.privacy)
        let private_ = try FederatedConfiguration.decode(
            yaml: yaml(federation: "rounds: 2\n  labels: [a, b]\n  secure_aggregation: true\n  dp: {clip: 0.5, noise_multiplier: 1.2}"),
            source: "fed.yaml")
        XCTAssertTrue(private_.settings.secureAggregation)
        XCTAssertEqual(private_.settings.privacy?.clip, 0.5)
        XCTAssertEqual(private_.settings.privacy?.delta, 1e-5)
    }

    func testMistakesAreNamed() {
        func expect(_ text: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try FederatedConfiguration.decode(yaml: text, source: "fed.yaml"), line: line) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
            }
        }
        expect(yaml(ranks: ["[1, 2]", "2", "[4]"]), "each exactly once")
        expect(yaml(ranks: ["[0]", "2", "[3]"]), "rank 0 is the coordinator")
        expect(yaml(federation: "rounds: 5\n  labels: [a, b]\n  aggregation: median"), "fedavg, ffa or svd")
        expect(yaml(federation: "rounds: 5\n  labels: [a, b]\n  min_sites: 4"), "min_sites")
        expect(yaml(federation: "aggregation: ffa"), "federation.rounds is required")
        expect(yaml(federation: "rounds: 5\n  roundz: 3"), "unknown key federation.roundz")
        expect(yaml(federation: "rounds: 5"), "federation.labels is required")
        expect(yaml(federation: "rounds: 5\n  labels: [a, a]"), "distinct")
        // Found by reading after the fuzz tests: these trapped instead of failing.
        expect(yaml(federation: "rounds: 5\n  labels: [a, b]\n  seed: -1"), "non-negative")
        expect(yaml(federation: "rounds: 1:2:3:4:5:6:7:8:9:10:11:12\n  labels: [a, b]"), "federation.rounds must be an integer")
        expect(yaml(extra: "lerning_rate: 1\n"), "lerning_rate")
        expect(yaml().replacingOccurrences(of: keys[1].publicKey, with: "bm90IGEga2V5"), "site-2")
        expect("model_dir: x\n", "no `federation:` section")
    }

    func testKeyFilesRoundTripAndAreNeverOverwritten() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("site-\(UUID().uuidString).key").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try keys[0].write(to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let loaded = try SiteKeys.load(path: path, site: "site-1")
        XCTAssertEqual(loaded.publicKey, keys[0].publicKey)
        XCTAssertEqual(loaded.keyAgreementKey, keys[0].keyAgreementKey)
        XCTAssertThrowsError(try keys[0].write(to: path)) { XCTAssertTrue("\($0)".contains("never overwritten"), "\($0)") }
        XCTAssertThrowsError(try SiteKeys.load(path: path, site: "site-2")) { XCTAssertTrue("\($0)".contains("not of site-2"), "\($0)") }
    }
}

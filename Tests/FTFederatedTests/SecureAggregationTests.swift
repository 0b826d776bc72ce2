import Crypto
import FTCore
@testable import FTFederated
import Foundation
import XCTest

/// Masked sums equal plain sums; single masked vectors reveal nothing useful; signed updates are
/// accepted only from registered sites with valid signatures.
final class SecureAggregationTests: XCTestCase {
    private func updates(sites: Int, count: Int) -> [[Float]] {
        var rng = SeededRNG(seed: 77)
        return (0..<sites).map { _ in (0..<count).map { _ in rng.nextNormal() * 3 } }
    }

    func testSecuredSumEqualsThePlainSum() throws {
        let sites = 4, count = 1001
        let values = updates(sites: sites, count: count)
        let keys = (0..<sites).map { _ in Curve25519.KeyAgreement.PrivateKey() }
        let publicKeys = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.offset, $0.element.publicKey) })
        let masked = try (0..<sites).map { site in
            try SecureAggregation.masked(
                values[site],
                mask: SecureAggregation.mask(
                    count: count, site: site, privateKey: keys[site],
                    peers: publicKeys, context: "fed-1 round 3"))
        }
        let secured = SecureAggregation.decode(SecureAggregation.sum(masked))
        let plainEncoded = SecureAggregation.decode(SecureAggregation.sum(try values.map(SecureAggregation.encode)))
        XCTAssertEqual(secured, plainEncoded, "the masks cancel exactly")
        for i in 0..<count {
            let plain = values.reduce(0.0) { $0 + Double($1[i]) }
            XCTAssertEqual(secured[i], plain, accuracy: Double(sites) * 0.5 / Double(UInt64(1) << SecureAggregation.fractionBits))
        }
        // One masked vector alone looks nothing like its update.
        let alone = SecureAggregation.decode(masked[0])
        XCTAssertGreaterThan(zip(alone, values[0]).filter { abs($0 - Double($1)) > 1000 }.count, count * 9 / 10)
    }

    func testMasksDependOnTheRoundAndCancelOnlyTogether() throws {
        let keys = (0..<3).map { _ in Curve25519.KeyAgreement.PrivateKey() }
        let publicKeys = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.offset, $0.element.publicKey) })
        let round1 = try SecureAggregation.mask(count: 8, site: 0, privateKey: keys[0], peers: publicKeys, context: "round 1")
        let round2 = try SecureAggregation.mask(count: 8, site: 0, privateKey: keys[0], peers: publicKeys, context: "round 2")
        XCTAssertNotEqual(round1, round2)
        let masks = try (0..<3).map { try SecureAggregation.mask(count: 8, site: $0, privateKey: keys[$0], peers: publicKeys, context: "round 1") }
        XCTAssertEqual(SecureAggregation.sum(masks), [UInt64](repeating: 0, count: 8))
        XCTAssertNotEqual(SecureAggregation.sum(Array(masks.prefix(2))), [UInt64](repeating: 0, count: 8), "a missing site leaves its masks")
    }

    func testOutOfRangeValuesAreRefused() {
        XCTAssertThrowsError(try SecureAggregation.encode([1e20])) { XCTAssertTrue("\($0)".contains("fixed-point range"), "\($0)") }
        XCTAssertThrowsError(try SecureAggregation.encode([.nan]))
    }

    func testOnlyRegisteredValidSignaturesAreAccepted() throws {
        let (hospital, hospitalKey) = UpdateSigner.generateIdentity()
        let (_, bankKey) = UpdateSigner.generateIdentity()
        let registry = try SiteRegistry(publicKeys: ["hospital": hospitalKey, "bank": bankKey])
        let signer = UpdateSigner(site: "hospital", privateKey: hospital)
        let payload = Data("adapter bytes".utf8)
        let signature = try signer.sign(payload, round: 4)
        XCTAssertNoThrow(try registry.verify(payload, signature: signature, site: "hospital", round: 4))
        XCTAssertThrowsError(try registry.verify(payload + Data([0]), signature: signature, site: "hospital", round: 4)) {
            XCTAssertEqual($0 as? SiteRegistry.Rejection, .badSignature(site: "hospital", round: 4))
        }
        XCTAssertThrowsError(try registry.verify(payload, signature: signature, site: "hospital", round: 5), "replayed in another round")
        XCTAssertThrowsError(try registry.verify(payload, signature: signature, site: "bank", round: 4), "passed off as another site's")
        XCTAssertThrowsError(try registry.verify(payload, signature: Data(), site: "hospital", round: 4), "unsigned")
        XCTAssertThrowsError(try registry.verify(payload, signature: signature, site: "court", round: 4)) {
            XCTAssertEqual($0 as? SiteRegistry.Rejection, .unknownSite("court"))
        }
        let forger = UpdateSigner(site: "hospital", privateKey: Curve25519.Signing.PrivateKey())
        XCTAssertThrowsError(
            try registry.verify(payload, signature: try forger.sign(payload, round: 4), site: "hospital", round: 4),
            "signed with a key the registry does not hold")
        XCTAssertThrowsError(try SiteRegistry(publicKeys: ["x": "not base64!"])) {
            XCTAssertEqual($0 as? SiteRegistry.Rejection, .malformedKey(site: "x"))
        }
    }
}

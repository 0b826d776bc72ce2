import Crypto
import FTCore
@testable import FTFederated
import Foundation
import X509
import XCTest

/// `fttrain federated-keygen --tls-dir`: the CA and the certificates it signs, made in Swift, carry
/// the network transport's mutual TLS (a site with them is admitted, a site whose certificate
/// another CA signed is refused), and existing material is never overwritten by accident.
final class FederationTLSTests: XCTestCase {
    private func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-tls-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    private func certificate(_ path: String) throws -> Certificate {
        try Certificate(pemEncoded: try String(contentsOfFile: path, encoding: .utf8))
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    func testTheCertificatesCarryMutualTLSAndAnotherCAsSiteIsRefused() throws {
        let directory = try temporaryDirectory(), elsewhere = try temporaryDirectory()
        let now = Date()
        let written = try FederationTLS.write(
            to: directory, sites: ["site-1", "site-2"], coordinatorHosts: ["localhost", "127.0.0.1", "::1"], now: now)
        XCTAssertTrue(written.createdCA)
        XCTAssertEqual(
            written.files.map { URL(fileURLWithPath: $0).lastPathComponent },
            [
                "ca.pem", "ca.key", "coordinator.pem", "coordinator.key", "site-1.pem", "site-1.key", "site-2.pem", "site-2.key",
            ])
        try FederationTLS.write(to: elsewhere, sites: ["site-2"], coordinatorHosts: [])

        // The files: keys only for their owner, certificates signed by the CA for their use.
        let ca = try certificate("\(directory)/ca.pem")
        XCTAssertEqual(try ca.extensions.basicConstraints, .isCertificateAuthority(maxPathLength: 0))
        for name in ["ca", "coordinator", "site-1", "site-2"] {
            XCTAssertEqual(try mode("\(directory)/\(name).key"), 0o600, name)
            XCTAssertEqual(try mode("\(directory)/\(name).pem"), 0o644, name)
        }
        let coordinator = try certificate("\(directory)/coordinator.pem")
        XCTAssertEqual(
            Array(try XCTUnwrap(coordinator.extensions.subjectAlternativeNames)),
            [
                .dnsName("localhost"), .ipAddress(.init(contentBytes: [127, 0, 0, 1])),
                .ipAddress(.init(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
            ])
        XCTAssertEqual(try coordinator.extensions.extendedKeyUsage.map(Array.init), [.serverAuth])
        for name in ["coordinator", "site-1", "site-2"] {
            let leaf = try certificate("\(directory)/\(name).pem")
            XCTAssertEqual(leaf.issuer, ca.subject, name)
            XCTAssertTrue(ca.publicKey.isValidSignature(leaf.signature, for: leaf), name)
            XCTAssertEqual(try leaf.extensions.basicConstraints, .notCertificateAuthority, name)
            XCTAssertEqual(leaf.notValidAfter.timeIntervalSince(now), 825 * 86_400, accuracy: 2, name)
            XCTAssertLessThan(leaf.notValidBefore, now, name)
        }
        XCTAssertEqual(try certificate("\(directory)/site-1.pem").extensions.extendedKeyUsage.map(Array.init), [.clientAuth])
        let rogue = try certificate("\(elsewhere)/site-2.pem")
        XCTAssertFalse(ca.publicKey.isValidSignature(rogue.signature, for: rogue))

        // On loopback: the coordinator with its new certificate admits site-1 with its own; a
        // site-2 whose certificate the other CA signed fails the handshake.
        let names = ["site-1", "site-2"]
        let signing = names.map { _ in UpdateSigner.generateIdentity() }
        let registry = try SiteRegistry(
            publicKeys: Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, signing[$0.offset].publicKeyBase64) }),
            federationID: "fttrain")
        let log = NetworkTransportTests.Log()
        var serve = NetworkSettings()
        serve.listen = .init(host: "127.0.0.1", port: 0)
        serve.tls = FederationTLS.files(in: directory, for: FederationTLS.coordinatorName)
        serve.heartbeatSeconds = 0.2
        let network = CoordinatorNetwork(
            settings: serve, registry: registry, sites: names.enumerated().map { SiteDescriptor(name: $0.element, rank: $0.offset + 1) },
            log: log.sink)
        let port = try network.start()
        defer { network.shutdown() }
        func join(_ index: Int, tls: NetworkSettings.TLSFiles) throws -> SiteNetwork {
            var settings = NetworkSettings()
            settings.coordinator = .init(host: "127.0.0.1", port: port)
            settings.tls = tls
            settings.heartbeatSeconds = 0.2
            let site = SiteNetwork(
                settings: settings, signer: UpdateSigner(site: names[index], privateKey: signing[index].privateKey), log: log.sink)
            try site.start()
            return site
        }
        let site = try join(0, tls: FederationTLS.files(in: directory, for: "site-1"))
        defer { site.shutdown() }
        var outsider = FederationTLS.files(in: elsewhere, for: "site-2")
        outsider.ca = FederationTLS.files(in: directory, for: "site-2").ca  // it trusts the coordinator; is it trusted?
        let impostor = try join(1, tls: outsider)
        defer { impostor.shutdown() }
        let deadline = Date(timeIntervalSinceNow: 10)
        while (network.connectedSites != ["site-1"] || !site.isConnected || !log.contains("TLS")) && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(network.connectedSites, ["site-1"], log.all)
        XCTAssertTrue(site.isConnected, log.all)
        XCTAssertTrue(log.contains("refused") && log.contains("TLS"), log.all)
        XCTAssertFalse(impostor.isConnected, log.all)
    }

    func testExistingMaterialIsKeptUnlessForcedAndTheCASignsLaterSites() throws {
        let directory = try temporaryDirectory()
        try FederationTLS.write(to: directory, sites: ["site-1"], coordinatorHosts: ["fed.example.org"])
        func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)")) }
        let caBytes = try contents("ca.pem"), siteBytes = try contents("site-1.pem"), keyBytes = try contents("site-1.key")

        XCTAssertThrowsError(try FederationTLS.write(to: directory, sites: ["site-1"], coordinatorHosts: [])) {
            XCTAssertTrue("\($0)".contains("site-1.pem") && "\($0)".contains("--force"), "\($0)")
        }
        XCTAssertEqual(try contents("site-1.pem"), siteBytes)
        XCTAssertEqual(try contents("site-1.key"), keyBytes)

        // A site added later: signed by the same CA, which stays as it was.
        let later = try FederationTLS.write(to: directory, sites: ["site-2"], coordinatorHosts: [])
        XCTAssertFalse(later.createdCA)
        XCTAssertEqual(try contents("ca.pem"), caBytes)
        let ca = try certificate("\(directory)/ca.pem")
        let site2 = try certificate("\(directory)/site-2.pem")
        XCTAssertTrue(ca.publicKey.isValidSignature(site2.signature, for: site2))

        // --force replaces the named party's pair, never the CA.
        XCTAssertFalse(try FederationTLS.write(to: directory, sites: ["site-1"], coordinatorHosts: [], force: true).createdCA)
        XCTAssertNotEqual(try contents("site-1.pem"), siteBytes)
        XCTAssertNotEqual(try contents("site-1.key"), keyBytes)
        XCTAssertEqual(try contents("ca.pem"), caBytes)
        let site1 = try certificate("\(directory)/site-1.pem")
        XCTAssertTrue(ca.publicKey.isValidSignature(site1.signature, for: site1))

        // Bad input is named.
        func expect(_ sites: [String], _ hosts: [String], _ fragment: String, in target: String? = nil, line: UInt = #line) {
            XCTAssertThrowsError(try FederationTLS.write(to: target ?? directory, sites: sites, coordinatorHosts: hosts), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)", line: line)
            }
        }
        expect(["../escape"], [], "site name \"../escape\"")
        expect(["coordinator"], [], "\"coordinator\"")
        expect(["site-9"], ["not a host!"], "coordinator host \"not a host!\"")
        expect([], [], "name at least one site")
        let half = try temporaryDirectory()
        try FileManager.default.createDirectory(atPath: half, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(directory)/ca.pem", toPath: "\(half)/ca.pem")
        expect(["site-1"], [], "without its key", in: half)
        try FileManager.default.copyItem(atPath: "\(directory)/site-1.key", toPath: "\(half)/ca.key")
        expect(["site-3"], [], "is not the key of the certificate", in: half)
    }
}

import Crypto
@testable import FTFederated
import Foundation
import SwiftASN1
import X509
import XCTest

/// A site's own TLS key and certificate request (`federated-keygen --request-dir`), the CA
/// holder's signature of it (`federated-sign`), and the coordinator admitting a connection only as
/// the site its certificate names.
final class FederationCSRTests: XCTestCase {
    private func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-csr-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    private func certificate(_ path: String) throws -> Certificate {
        try Certificate(pemEncoded: try String(contentsOfFile: path, encoding: .utf8))
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The files of a directory, sorted (to show that a refused call wrote nothing, not even a temporary).
    private func listing(_ directory: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory).sorted() }

    func testASiteMakesItsOwnKeyAndTheCAHolderSignsItsRequest() throws {
        let ca = try temporaryDirectory(), site = try temporaryDirectory()
        let now = Date()
        try FederationTLS.write(to: ca, sites: ["hospital-a"], coordinatorHosts: ["127.0.0.1"], now: now)

        // At the site: a P-256 key only it can read, and a request for its name signed by that key.
        let request = try FederationTLS.writeRequest(site: "hospital-c", to: site)
        XCTAssertEqual(request, FederationTLS.requestFiles(in: site, for: "hospital-c"))
        XCTAssertEqual(try mode(request.key), 0o600)
        XCTAssertEqual(try mode(request.csr), 0o644)
        let key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: request.key, encoding: .utf8))
        let csr = try CertificateSigningRequest(pemEncoded: try String(contentsOfFile: request.csr, encoding: .utf8))
        XCTAssertEqual(csr.publicKey, key.publicKey)
        XCTAssertNotNil(P256.Signing.PublicKey(csr.publicKey))
        XCTAssertTrue(csr.publicKey.isValidSignature(csr.signature, for: csr))
        XCTAssertEqual(FederationTLS.commonNames(csr.subject), ["hospital-c"])
        XCTAssertEqual(
            try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames.map(Array.init), [.dnsName("hospital-c")])
        let keyBytes = try contents(request.key), csrBytes = try contents(request.csr)
        XCTAssertThrowsError(try FederationTLS.writeRequest(site: "hospital-c", to: site)) {
            XCTAssertTrue("\($0)".contains("hospital-c.key") && "\($0)".contains("--force"), "\($0)")
        }
        XCTAssertEqual(try contents(request.key), keyBytes)
        XCTAssertEqual(try contents(request.csr), csrBytes)

        // At the CA holder: the certificate, in the profile of the ones keygen makes, for the site's own key.
        let output = "\(site)/hospital-c.pem"
        let issued = try FederationTLS.sign(request: request.csr, caDirectory: ca, output: output, now: now)
        XCTAssertEqual(issued.site, "hospital-c")
        XCTAssertEqual(issued.files, ["\(ca)/hospital-c.pem", output])
        XCTAssertEqual(try contents(output), try contents("\(ca)/hospital-c.pem"))
        XCTAssertEqual(try mode(output), 0o644)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(ca)/hospital-c.key"))  // the key stayed at the site
        let authority = try certificate("\(ca)/ca.pem"), signed = try certificate(output), made = try certificate("\(ca)/hospital-a.pem")
        XCTAssertEqual(signed.publicKey, key.publicKey)
        XCTAssertEqual(signed.issuer, authority.subject)
        XCTAssertTrue(authority.publicKey.isValidSignature(signed.signature, for: signed))
        XCTAssertEqual(FederationTLS.commonNames(signed.subject), ["hospital-c"])
        XCTAssertEqual(FederationTLS.siteNames(of: signed), ["hospital-c"])
        XCTAssertEqual(FederationTLS.siteNames(of: made), ["hospital-a"])
        XCTAssertEqual(try signed.extensions.extendedKeyUsage.map(Array.init), [.clientAuth])
        XCTAssertEqual(try signed.extensions.basicConstraints, .notCertificateAuthority)
        XCTAssertEqual(signed.extensions.map(\.oid), made.extensions.map(\.oid))
        XCTAssertEqual(signed.extensions.map(\.critical), made.extensions.map(\.critical))
        XCTAssertEqual(signed.notValidAfter.timeIntervalSince(now), 825 * 86_400, accuracy: 2)
        XCTAssertEqual(issued.notValidAfter, signed.notValidAfter)
        XCTAssertLessThan(signed.notValidBefore, now)

        // Issued once: a second request for the name is refused unless --force, which issues anew.
        XCTAssertThrowsError(try FederationTLS.sign(request: request.csr, caDirectory: ca)) {
            XCTAssertTrue("\($0)".contains("already has a certificate") && "\($0)".contains("--force"), "\($0)")
        }
        XCTAssertEqual(try contents(output), try contents("\(ca)/hospital-c.pem"))
        try FederationTLS.sign(request: request.csr, caDirectory: ca, output: output, days: 30, force: true)
        let renewed = try certificate(output)
        XCTAssertNotEqual(renewed.serialNumber, signed.serialNumber)
        XCTAssertEqual(renewed.notValidAfter.timeIntervalSinceNow, 30 * 86_400, accuracy: 60)
        // The site may already hold a file where the request would go: --force replaces its pair.
        try FederationTLS.writeRequest(site: "hospital-c", to: site, force: true)
        XCTAssertNotEqual(try contents(request.key), keyBytes)
    }

    func testBadRequestsAndAMissingCAAreRefusedWithTheFileNamed() throws {
        let ca = try temporaryDirectory(), work = try temporaryDirectory()
        try FederationTLS.write(to: ca, sites: ["hospital-a"], coordinatorHosts: ["127.0.0.1"])
        let before = try listing(ca)

        func write(_ text: String, _ name: String) throws -> String {
            let path = "\(work)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func request(
            _ names: [String], key: Certificate.PrivateKey = .init(P256.Signing.PrivateKey()),
            algorithm: Certificate.SignatureAlgorithm = .ecdsaWithSHA256,
            alternativeNames: [GeneralName]? = nil
        ) throws -> CertificateSigningRequest {
            var attributes = CertificateSigningRequest.Attributes()
            if let alternativeNames {
                attributes.insert(try .init(ExtensionRequest(extensions: try Certificate.Extensions { SubjectAlternativeNames(alternativeNames) })))
            }
            let subject = DistinguishedName(names.map { RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: $0)) })
            return try CertificateSigningRequest(
                version: .v1, subject: subject, privateKey: key, attributes: attributes, signatureAlgorithm: algorithm)
        }
        func pem(_ csr: CertificateSigningRequest, _ name: String) throws -> String { try write(try csr.serializeAsPEM().pemString, name) }
        func expect(_ path: String, _ fragments: [String], in directory: String? = nil, output: String? = nil, line: UInt = #line) {
            XCTAssertThrowsError(try FederationTLS.sign(request: path, caDirectory: directory ?? ca, output: output), line: line) {
                for fragment in fragments { XCTAssertTrue("\($0)".contains(fragment), "\($0) lacks \(fragment)", line: line) }
            }
        }

        // Not a request: plain text, a certificate, a missing file.
        expect(try write("hospital-b, please\n", "note.csr"), ["note.csr is not a PEM certificate request"])
        expect("\(ca)/hospital-a.pem", ["hospital-a.pem is not a PEM certificate request"])
        expect("\(work)/absent.csr", ["cannot read the certificate request", "absent.csr"])
        // A request whose signature is not its key's: another key's signature under this key.
        let honest = try request(["hospital-b"])
        let forged = try CertificateSigningRequest(
            version: .v1, subject: honest.subject, publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey),
            attributes: honest.attributes, signatureAlgorithm: .ecdsaWithSHA256, signature: honest.signature)
        expect(try pem(forged, "forged.csr"), ["forged.csr", "signature does not verify"])
        // Keys of other types.
        expect(
            try pem(try request(["hospital-b"], key: .init(P384.Signing.PrivateKey()), algorithm: .ecdsaWithSHA384), "p384.csr"),
            ["p384.csr", "ECDSA P-384", "P-256"])
        expect(
            try pem(try request(["hospital-b"], key: .init(Curve25519.Signing.PrivateKey()), algorithm: .ed25519), "ed25519.csr"),
            ["ed25519.csr", "Ed25519"])
        // Names: not one common name, not a site name, other names asked for.
        expect(try pem(try request([]), "anonymous.csr"), ["anonymous.csr", "exactly one common name"])
        expect(try pem(try request(["hospital-b", "hospital-a"]), "two.csr"), ["two.csr", "exactly one common name"])
        expect(try pem(try request(["../escape"]), "escape.csr"), ["escape.csr", "site name \"../escape\""])
        expect(try pem(try request(["coordinator"]), "server.csr"), ["server.csr", "\"coordinator\""])
        expect(
            try pem(try request(["hospital-b"], alternativeNames: [.dnsName("hospital-b"), .dnsName("hospital-a")]), "more.csr"),
            ["more.csr", "hospital-a", "names only its site hospital-b"])
        // Already issued (by keygen --tls-dir), no CA, an existing output.
        expect(try pem(try request(["hospital-a"]), "again.csr"), ["again.csr", "\"hospital-a\" already has a certificate", "--force"])
        let good = try pem(try request(["hospital-b"], alternativeNames: [.dnsName("hospital-b")]), "hospital-b.csr")
        let empty = try temporaryDirectory()
        expect(good, ["\(empty) holds no federation CA", "federated-keygen --tls-dir"], in: empty)
        let occupied = try write("keep me", "occupied.pem")
        expect(good, ["occupied.pem already exists", "--force"], output: occupied)
        XCTAssertEqual(try String(contentsOfFile: occupied, encoding: .utf8), "keep me")

        // Nothing was written anywhere by the refusals; the good request then goes through.
        XCTAssertEqual(try listing(ca), before)
        XCTAssertEqual(try listing(empty), [])
        XCTAssertEqual(try FederationTLS.sign(request: good, caDirectory: ca).files, ["\(ca)/hospital-b.pem"])
        // An OpenSSL-style request (CN only, no extension request) is taken as well.
        let plain = try pem(try request(["hospital-d"]), "hospital-d.csr")
        XCTAssertEqual(FederationTLS.siteNames(of: try certificate(try FederationTLS.sign(request: plain, caDirectory: ca).files[0])), ["hospital-d"])
        // The site's own check of its certificate before it connects.
        XCTAssertNoThrow(try FederationTLS.checkCertificate("\(ca)/hospital-b.pem", isFor: "hospital-b"))
        XCTAssertThrowsError(try FederationTLS.checkCertificate("\(ca)/hospital-a.pem", isFor: "hospital-b")) {
            XCTAssertTrue("\($0)".contains("hospital-a.pem is the certificate of hospital-a, not of site hospital-b"), "\($0)")
        }
    }

    /// On loopback with real TLS: a connection presenting hospital-a's certificate whose hello says
    /// hospital-b (with hospital-b's own signing key) is refused, logged by the coordinator, told to
    /// the site, and not counted as hospital-b; hospital-b with the certificate signed from its own
    /// request is admitted and reports in the next round.
    func testASiteIsAdmittedOnlyAsTheSiteItsCertificateNames() throws {
        let ca = try temporaryDirectory(), home = try temporaryDirectory()
        try FederationTLS.write(to: ca, sites: ["hospital-a"], coordinatorHosts: ["127.0.0.1"])
        let request = try FederationTLS.writeRequest(site: "hospital-b", to: home)
        try FederationTLS.sign(request: request.csr, caDirectory: ca, output: "\(home)/hospital-b.pem")

        let names = ["hospital-a", "hospital-b"]
        let signing = names.map { _ in UpdateSigner.generateIdentity() }
        var settings = FederationSettings(rounds: 2, mode: .fedavg)
        settings.roundDeadline = 10
        settings.minimumSites = 1
        let registry = try SiteRegistry(
            publicKeys: Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, signing[$0.offset].publicKeyBase64) }),
            federationID: settings.federationID)
        let descriptors = names.enumerated().map { SiteDescriptor(name: $0.element, rank: $0.offset + 1) }
        let log = NetworkTransportTests.Log()
        var serve = NetworkSettings()
        serve.listen = .init(host: "127.0.0.1", port: 0)
        serve.tls = FederationTLS.files(in: ca, for: FederationTLS.coordinatorName)
        serve.heartbeatSeconds = 0.2
        serve.waitForSites = 1
        serve.rejoinGrace = 20
        let coordinator = CoordinatorNetwork(settings: serve, registry: registry, sites: descriptors, log: log.sink)
        let port = try coordinator.start()
        defer { coordinator.shutdown() }
        func transport(_ index: Int, tls: NetworkSettings.TLSFiles) -> SiteNetwork {
            var network = NetworkSettings()
            network.coordinator = .init(host: "127.0.0.1", port: port)
            network.tls = tls
            network.heartbeatSeconds = 0.2
            network.giveUpAfter = 30
            let signer = UpdateSigner(site: names[index], privateKey: signing[index].privateKey, federationID: settings.federationID)
            return SiteNetwork(settings: network, signer: signer, log: log.sink)
        }

        // hospital-a's certificate and TLS key, hospital-b's hello: refused before anything is counted.
        let impostor = transport(1, tls: FederationTLS.files(in: ca, for: "hospital-a"))
        try impostor.start()
        var refusal: Error?
        let patience = Date(timeIntervalSinceNow: 10)  // polled, so that an admitted impostor fails the test instead of hanging it
        while refusal == nil && Date() < patience {
            do { _ = try impostor.poll(from: 0, tag: RoundTag.control) } catch { refusal = error }
            usleep(20_000)
        }
        impostor.shutdown()
        XCTAssertTrue(
            "\(try XCTUnwrap(refusal, log.all))".contains(
                "the coordinator refused hospital-b: its TLS certificate is hospital-a's, but its hello says hospital-b"), log.all)
        XCTAssertTrue(log.contains("refused [IPv4]127.0.0.1"), log.all)
        XCTAssertTrue(log.contains("its TLS certificate is hospital-a's, but its hello says hospital-b"), log.all)
        XCTAssertFalse(log.contains("hospital-b connected"), log.all)
        XCTAssertEqual(coordinator.connectedSites, [])

        // Round 0 with hospital-a alone (hospital-b not connected); hospital-b, with its own key and
        // the certificate from its request, joins after it and reports in round 1.
        let done = DispatchGroup()
        func startSite(_ index: Int, tls: NetworkSettings.TLSFiles) {
            let signer = UpdateSigner(site: names[index], privateKey: signing[index].privateKey, federationID: settings.federationID)
            let site = NetworkTransportTests.Unchecked(
                (transport(index, tls: tls), FederatedRoundsTests.ShiftTrainer(shift: Float(index + 1), examples: 10), signer))
            done.enter()
            Thread { [settings] in
                defer { done.leave() }
                let (network, trainer, signer) = site.value
                do {
                    try network.start()
                    try FederatedSite(channel: network, index: index, settings: settings, signer: signer, trainer: trainer, noiseSeed: 1).run()
                } catch {
                    log.sink("site thread \(index) ended: \(error)")
                }
                network.shutdown()
            }.start()
        }
        startSite(0, tls: FederationTLS.files(in: ca, for: "hospital-a"))
        let deadline = Date(timeIntervalSinceNow: 20)
        while coordinator.connectedSites != ["hospital-a"] && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(coordinator.connectedSites, ["hospital-a"], log.all)
        var records: [RoundRecord] = []
        let global = AdapterUpdate(
            modules: [
                "q": LoRAFactors(a: [Float](repeating: 0.5, count: 8), b: [Float](repeating: 0, count: 8), rank: 2, inFeatures: 4, outFeatures: 4)
            ],
            dense: [:], examples: 0)
        _ = try FederatedCoordinator(channel: coordinator, sites: descriptors, settings: settings, registry: registry)
            .run(initial: global) { record, _ in
                records.append(record)
                if record.round == 0 {
                    startSite(1, tls: .init(ca: "\(ca)/ca.pem", cert: "\(home)/hospital-b.pem", key: request.key))
                }
            }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, log.all)
        XCTAssertEqual(records.map(\.reported), [["hospital-a"], names], log.all)
        XCTAssertEqual(records.first?.missing["hospital-b"], "not connected when round 0 started")
        XCTAssertTrue(log.contains("hospital-b connected from"), log.all)
    }
}

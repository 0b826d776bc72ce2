import Crypto
import Foundation
import SwiftASN1
import X509

/// A site that keeps its TLS key at home: it makes its own key and a PKCS#10 certificate request
/// (`fttrain federated-keygen --site NAME --request-dir DIR`, as `openssl req -new` would), sends
/// the request to the CA holder, who checks it and issues the site's certificate
/// (`fttrain federated-sign --tls-dir CA_DIR --csr NAME.csr`, as `openssl x509 -req -CA` would) in
/// the same profile as `federated-keygen --tls-dir` (clientAuth, CN=NAME, DNS:NAME). The site's
/// private key never leaves the site.
extension FederationTLS {
    /// A site's request files: its private key and its certificate request.
    public struct RequestFiles: Sendable, Equatable {
        /// `NAME.key`: the site's P-256 key (PKCS#8 PEM, mode 0600): it stays at the site.
        public var key: String
        /// `NAME.csr`: the PKCS#10 request (PEM) for the CA holder.
        public var csr: String
    }

    /// What the CA holder issued for a request.
    public struct Issued: Sendable, Equatable {
        /// The site the certificate is for (the request's common name).
        public var site: String
        /// The certificates written: the CA directory's record `CA_DIR/NAME.pem`, then `output` if elsewhere.
        public var files: [String]
        /// The end of the certificate's validity.
        public var notValidAfter: Date
    }

    /// `DIR/NAME.key` and `DIR/NAME.csr`.
    public static func requestFiles(in directory: String, for site: String) -> RequestFiles {
        let url = URL(fileURLWithPath: directory)
        return RequestFiles(key: url.appendingPathComponent("\(site).key").path, csr: url.appendingPathComponent("\(site).csr").path)
    }

    /// Makes the site's P-256 key and a request for a certificate naming `site` (subject CN=site,
    /// requested subject alternative name DNS:site), signed by that key, in `directory`.
    /// - Throws: `FederationError` for a name that is not a site's, or existing files (unless
    ///   `force`). Both files are written to temporaries first: nothing is half-written.
    @discardableResult
    public static func writeRequest(site: String, to directory: String, force: Bool = false) throws -> RequestFiles {
        try checkName(site)
        let target = requestFiles(in: directory, for: site)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !force {
            let existing = [target.key, target.csr].filter { FileManager.default.fileExists(atPath: $0) }
            guard existing.isEmpty else {
                throw FederationError(description: "\(existing.joined(separator: ", ")) already exist: not overwritten (--force replaces them)")
            }
        }
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let extensions = try Certificate.Extensions { SubjectAlternativeNames([.dnsName(site)]) }
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(site) }, privateKey: key,
            attributes: .init([try .init(ExtensionRequest(extensions: extensions))]), signatureAlgorithm: .ecdsaWithSHA256)
        try writeFiles([
            (try key.serializeAsPEM().pemString, target.key, 0o600), (try request.serializeAsPEM().pemString, target.csr, 0o644),
        ])
        return target
    }

    /// Checks the request at `path` and issues the site's certificate with the CA of `caDirectory`:
    /// written to `caDirectory/NAME.pem` (the CA holder's record of what it issued, the file
    /// `federated-keygen --tls-dir` writes) and to `output` when that is another file.
    /// - Throws: `FederationError` naming the file: no CA in `caDirectory`; a file that is not a
    ///   PEM certificate request; a signature that does not verify with the request's own key; a
    ///   key that is not P-256; a subject that is not one valid site name (or asks for other
    ///   names); a site that already has a certificate, or an existing `output` (unless `force`).
    @discardableResult
    public static func sign(
        request path: String, caDirectory: String, output: String? = nil, days: Int = 825, force: Bool = false, now: Date = Date()
    ) throws -> Issued {
        guard days >= 1 else { throw FederationError(description: "federated-sign: --days must be at least 1, found \(days)") }
        let caFiles = files(in: caDirectory, for: caName)
        guard let (caKey, caCertificate) = try loadCA(caFiles) else {
            throw FederationError(
                description: "federated-sign: \(caDirectory) holds no federation CA (\(caFiles.ca) and \(caFiles.key)); "
                    + "make one with fttrain federated-keygen --tls-dir \(caDirectory) --coordinator-host HOST")
        }
        let request = try readRequest(path)
        let site = try requestedSite(request, path: path)

        let record = files(in: caDirectory, for: site).cert
        var targets = [record]
        if let output, URL(fileURLWithPath: output).standardizedFileURL != URL(fileURLWithPath: record).standardizedFileURL {
            targets.append(output)
        }
        if !force {
            guard !FileManager.default.fileExists(atPath: record) else {
                throw FederationError(
                    description: "federated-sign: \(path): site \"\(site)\" already has a certificate from this CA (\(record)): "
                        + "not issued again (--force issues a new one)")
            }
            if let other = targets.dropFirst().first, FileManager.default.fileExists(atPath: other) {
                throw FederationError(description: "federated-sign: \(other) already exists: not overwritten (--force replaces it)")
            }
        }
        let notAfter = min(now.addingTimeInterval(Double(days) * 86_400), caCertificate.notValidAfter)
        let certificate = try issue(
            to: site, publicKey: request.publicKey, server: false, alternativeNames: [.dnsName(site)], caKey: caKey,
            caCertificate: caCertificate, notBefore: now.addingTimeInterval(-3600), notAfter: notAfter)
        let pem = try certificate.serializeAsPEM().pemString
        try writeFiles(targets.map { (pem, $0, 0o644) })
        return Issued(site: site, files: targets, notValidAfter: certificate.notValidAfter)
    }

    /// The request at `path`: PEM, self-signed by its key, the key P-256.
    static func readRequest(_ path: String) throws -> CertificateSigningRequest {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FederationError(description: "federated-sign: cannot read the certificate request \(path): \(error.localizedDescription)")
        }
        let request: CertificateSigningRequest
        do {
            request = try CertificateSigningRequest(pemEncoded: text)
        } catch {
            throw FederationError(
                description: "federated-sign: \(path) is not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----, "
                    + "as federated-keygen --request-dir or openssl req -new write it): \(error)")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw FederationError(
                description: "federated-sign: \(path): the request's signature does not verify with its own public key "
                    + "(altered or corrupt): not signed")
        }
        guard P256.Signing.PublicKey(request.publicKey) != nil else {
            throw FederationError(
                description: "federated-sign: \(path): the request's key is \(keyType(request.publicKey)), but the federation's "
                    + "certificates are ECDSA P-256 (federated-keygen --request-dir makes one; with openssl: "
                    + "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256)")
        }
        return request
    }

    /// The site a request asks for: its subject's one common name, a valid site name; a requested
    /// subject alternative name, if any, must be that name and nothing else.
    static func requestedSite(_ request: CertificateSigningRequest, path: String) throws -> String {
        let names = commonNames(request.subject)
        guard names.count == 1, let site = names.first else {
            throw FederationError(
                description: "federated-sign: \(path): the request's subject must hold exactly one common name (CN), "
                    + "the site's name; found \"\(request.subject)\"")
        }
        try checkName(site, command: "federated-sign: \(path)")
        let alternativeNames: SubjectAlternativeNames?
        do {
            alternativeNames = try request.attributes.extensionRequest?.extensions.subjectAlternativeNames
        } catch {
            throw FederationError(description: "federated-sign: \(path): the request's extensions cannot be read: \(error)")
        }
        if let alternativeNames, Array(alternativeNames) != [.dnsName(site)] {
            throw FederationError(
                description: "federated-sign: \(path): the request asks for the names \(alternativeNames.map { "\($0)" }.joined(separator: ", ")), "
                    + "but a site's certificate names only its site \(site) (CN=\(site), DNS:\(site))")
        }
        return site
    }

    /// Checks that the certificate at `path` is one for `site` (a site that would otherwise
    /// connect and be refused by the coordinator learns it before).
    public static func checkCertificate(_ path: String, isFor site: String) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: try String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw FederationError(description: "network.tls.cert: \(path) is not a readable PEM certificate: \(error)")
        }
        let names = siteNames(of: certificate)
        guard names.contains(site) else {
            throw FederationError(
                description: "network.tls.cert: \(path) is the certificate of \(names.joined(separator: ", ")), not of site \(site): "
                    + "the coordinator refuses a site whose certificate names another")
        }
    }

    /// "ECDSA P-384", "RSA 2048", "Ed25519" (from swift-certificates' key description).
    private static func keyType(_ key: Certificate.PublicKey) -> String {
        let name = "\(key)".replacingOccurrences(of: ".PublicKey", with: "")
        if name.hasPrefix("P") { return "ECDSA P-\(name.dropFirst())" }
        if name.hasPrefix("RSA") { return "RSA \(name.dropFirst(3))" }
        return name
    }
}

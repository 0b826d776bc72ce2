import Crypto
import Foundation
import SwiftASN1
import X509

/// The TLS material of a federation over the network, made in-process with swift-certificates
/// (`fttrain federated-keygen --tls-dir DIR`; no openssl): in `DIR`,
///
/// - `ca.pem` + `ca.key`: the federation's CA (P-256, self-signed, `CA:TRUE`, keyCertSign/cRLSign);
///   made when `DIR` has none, reused (never overwritten) when it has both, so sites can be added later;
/// - `coordinator.pem` + `coordinator.key`: the coordinator's certificate, signed by the CA, for
///   TLS servers (extended key usage serverAuth), with the host names and IP addresses sites dial as
///   subject alternative names;
/// - `NAME.pem` + `NAME.key` per site: its client certificate (clientAuth), subject CN=NAME and
///   subject alternative name DNS:NAME (the name the coordinator checks against the site's hello);
///
/// the layout `network.tls: {ca: DIR/ca.pem, cert: DIR/NAME.pem, key: DIR/NAME.key}` expects. Keys
/// are PKCS#8 PEM with mode 0600, certificates mode 0644; a party's existing files are refused unless
/// `force`. Every certificate is valid from an hour before `now` (clocks of institutions differ)
/// for `days` days, and never past the CA's own end.
public enum FederationTLS {
    /// The file stem of the coordinator's certificate and key.
    public static let coordinatorName = "coordinator"
    /// The file stem of the CA's certificate and key.
    public static let caName = "ca"

    /// What one call wrote.
    public struct Written: Sendable, Equatable {
        /// True when the CA was made by this call (false: the directory's CA signed the new certificates).
        public var createdCA: Bool
        /// The files written, in order.
        public var files: [String]
    }

    /// The `network.tls` files of `name` (a site or `coordinator`) in `directory`.
    public static func files(in directory: String, for name: String) -> NetworkSettings.TLSFiles {
        let url = URL(fileURLWithPath: directory)
        return NetworkSettings.TLSFiles(
            ca: url.appendingPathComponent("\(caName).pem").path, cert: url.appendingPathComponent("\(name).pem").path,
            key: url.appendingPathComponent("\(name).key").path)
    }

    /// Writes the CA (unless `directory` holds one), the coordinator's certificate when
    /// `coordinatorHosts` is not empty, and a certificate per site of `sites`.
    /// - Throws: `FederationError` naming the file or the value at fault: a name that is not a plain
    ///   file stem (or is `ca`/`coordinator`), a host that is neither a DNS name nor an IP address,
    ///   a party whose files exist (without `force`), half a CA, or a CA key that does not match its certificate.
    @discardableResult
    public static func write(
        to directory: String, sites: [String], coordinatorHosts: [String], days: Int = 825, force: Bool = false, now: Date = Date()
    ) throws -> Written {
        guard !sites.isEmpty || !coordinatorHosts.isEmpty else {
            throw FederationError(description: "federated-keygen --tls-dir \(directory): name at least one site or a coordinator host")
        }
        guard days >= 1 else { throw FederationError(description: "federated-keygen: --days must be at least 1, found \(days)") }
        for site in sites { try checkName(site) }
        guard Set(sites).count == sites.count else {
            throw FederationError(description: "federated-keygen: a site is named twice in \(sites.joined(separator: ", "))")
        }
        let alternativeNames = try coordinatorHosts.map(alternativeName)
        let parties = (coordinatorHosts.isEmpty ? [] : [coordinatorName]) + sites

        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let caFiles = files(in: directory, for: caName)
        if !force {
            let existing = parties.flatMap { party -> [String] in
                let f = files(in: directory, for: party)
                return [f.cert, f.key].filter { manager.fileExists(atPath: $0) }
            }
            guard existing.isEmpty else {
                throw FederationError(
                    description: "\(existing.joined(separator: ", ")) already exist: not overwritten (--force replaces them; the CA is kept)")
            }
        }

        var written = Written(createdCA: false, files: [])
        let notBefore = now.addingTimeInterval(-3600)
        let caKey: Certificate.PrivateKey, caCertificate: Certificate
        if let existing = try loadCA(caFiles) {
            (caKey, caCertificate) = existing
        } else {
            caKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
            let name = try DistinguishedName { CommonName("fttrain federation CA") }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caKey.publicKey)
            }
            caCertificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: caKey.publicKey, notValidBefore: notBefore,
                notValidAfter: now.addingTimeInterval(Double(days) * 86_400), issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: caKey)
            try writeFile(try caKey.serializeAsPEM().pemString, to: caFiles.key, mode: 0o600)
            try writeFile(try caCertificate.serializeAsPEM().pemString, to: caFiles.ca, mode: 0o644)
            written.createdCA = true
            written.files += [caFiles.ca, caFiles.key]
        }
        let notAfter = min(now.addingTimeInterval(Double(days) * 86_400), caCertificate.notValidAfter)

        for party in parties {
            let server = party == coordinatorName
            let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
            let certificate = try issue(
                to: party, publicKey: key.publicKey, server: server, alternativeNames: server ? alternativeNames : [.dnsName(party)],
                caKey: caKey, caCertificate: caCertificate, notBefore: notBefore, notAfter: notAfter)
            let target = files(in: directory, for: party)
            try writeFile(try key.serializeAsPEM().pemString, to: target.key, mode: 0o600)
            try writeFile(try certificate.serializeAsPEM().pemString, to: target.cert, mode: 0o644)
            written.files += [target.cert, target.key]
        }
        return written
    }

    /// A certificate signed by the CA, in the federation's one profile: the coordinator's
    /// (serverAuth, the hosts it is dialled at as subject alternative names) or a site's
    /// (clientAuth, CN=NAME and DNS:NAME); not a CA, digitalSignature only, key identifiers.
    static func issue(
        to party: String, publicKey: Certificate.PublicKey, server: Bool, alternativeNames: [GeneralName],
        caKey: Certificate.PrivateKey, caCertificate: Certificate, notBefore: Date, notAfter: Date
    ) throws -> Certificate {
        let authorityKey =
            (try? caCertificate.extensions.subjectKeyIdentifier?.keyIdentifier) ?? SubjectKeyIdentifier(hash: caCertificate.publicKey).keyIdentifier
        let subject = try DistinguishedName { CommonName(server ? "fttrain federation coordinator" : party) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([server ? .serverAuth : .clientAuth])
            SubjectKeyIdentifier(hash: publicKey)
            AuthorityKeyIdentifier(keyIdentifier: authorityKey)
            SubjectAlternativeNames(alternativeNames)
        }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: caKey)
    }

    /// The site names a certificate is for: its DNS subject alternative names when it has any
    /// (RFC 6125: the common name is then ignored), else its subject's common names.
    public static func siteNames(of certificate: Certificate) -> [String] {
        let alternativeNames = (try? certificate.extensions.subjectAlternativeNames).map(Array.init) ?? []
        let dnsNames = alternativeNames.compactMap { name -> String? in
            if case .dnsName(let value) = name { return value }
            return nil
        }
        return dnsNames.isEmpty ? commonNames(certificate.subject) : dnsNames
    }

    /// The common names (CN) of a distinguished name, in order.
    static func commonNames(_ name: DistinguishedName) -> [String] {
        name.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
    }

    /// The directory's CA when it has one (both files, the key matching the certificate); nil when it has neither.
    static func loadCA(_ files: NetworkSettings.TLSFiles) throws -> (Certificate.PrivateKey, Certificate)? {
        let manager = FileManager.default
        switch (manager.fileExists(atPath: files.ca), manager.fileExists(atPath: files.key)) {
        case (false, false): return nil
        case (true, false): throw FederationError(description: "\(files.ca) exists without its key \(files.key): cannot sign with it")
        case (false, true): throw FederationError(description: "\(files.key) exists without its certificate \(files.ca)")
        case (true, true): break
        }
        let certificate: Certificate, key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: try String(contentsOfFile: files.ca, encoding: .utf8))
        } catch {
            throw FederationError(description: "\(files.ca): not a PEM certificate (\(error))")
        }
        do {
            key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: files.key, encoding: .utf8))
        } catch {
            throw FederationError(description: "\(files.key): not a PEM private key (\(error))")
        }
        guard key.publicKey == certificate.publicKey else {
            throw FederationError(description: "\(files.key) is not the key of the certificate \(files.ca)")
        }
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw FederationError(description: "\(files.ca) is not a CA certificate (no basicConstraints CA:TRUE)")
        }
        return (key, certificate)
    }

    /// A site name becomes a file stem: letters, digits, `.`, `_`, `-`, not starting with `.`.
    static func checkName(_ name: String, command: String = "federated-keygen") throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy(allowed.contains) else {
            throw FederationError(description: "\(command): site name \"\(name)\" must be letters, digits, '.', '_' or '-' (a file name)")
        }
        guard name != caName && name != coordinatorName else {
            throw FederationError(description: "\(command): \"\(name)\" is the name of the \(name)'s own files, not a site's")
        }
    }

    /// An IP address (v4 or v6) or a DNS name, as a subject alternative name.
    static func alternativeName(_ host: String) throws -> GeneralName {
        if let bytes = ipAddress(host) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*")
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard !host.isEmpty, host.count <= 253, host.allSatisfy(allowed.contains),
            labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") })
        else {
            throw FederationError(description: "federated-keygen: coordinator host \"\(host)\" is neither an IP address nor a DNS name")
        }
        return .dnsName(host)
    }

    /// The network-order bytes of an IPv4 or IPv6 address literal.
    static func ipAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Writes `text` to `path` with `mode` from the first byte (a key is never readable by others,
    /// not even for a moment), through a temporary file renamed into place.
    static func writeFile(_ text: String, to path: String, mode: mode_t) throws {
        try writeFiles([(text, path, mode)])
    }

    /// Writes every file to a temporary beside it first, then renames them all into place: a
    /// failure leaves none of them half-written (and none written when a temporary fails).
    static func writeFiles(_ files: [(text: String, path: String, mode: mode_t)]) throws {
        var temporaries: [String] = []
        func removeTemporaries() { for temporary in temporaries { unlink(temporary) } }
        for file in files {
            let temporary = file.path + ".partial"
            unlink(temporary)
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, file.mode)
            guard descriptor >= 0 else {
                let reason = String(cString: strerror(errno))
                removeTemporaries()
                throw FederationError(description: "cannot create \(temporary): \(reason)")
            }
            temporaries.append(temporary)
            fchmod(descriptor, file.mode)  // the umask may have taken bits of a certificate's 0644
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            do {
                try handle.write(contentsOf: Data(file.text.utf8))
                try handle.close()
            } catch {
                removeTemporaries()
                throw FederationError(description: "cannot write \(temporary): \(error)")
            }
        }
        for (file, temporary) in zip(files, temporaries) {
            guard rename(temporary, file.path) == 0 else {
                let reason = String(cString: strerror(errno))
                removeTemporaries()
                throw FederationError(description: "cannot move \(temporary) to \(file.path): \(reason)")
            }
        }
    }
}

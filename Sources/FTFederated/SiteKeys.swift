import Crypto
import Foundation

/// A site's private keys: Ed25519 to sign its updates, X25519 for secure aggregation's masks.
/// Kept in a file only the site can read (`fttrain federated-keygen` writes it with mode 0600);
/// the public halves go into the federation's config, where everyone can see them.
public struct SiteKeys {
    public let site: String
    public let signing: Curve25519.Signing.PrivateKey
    public let keyAgreement: Curve25519.KeyAgreement.PrivateKey

    public init(site: String) {
        self.site = site
        signing = Curve25519.Signing.PrivateKey()
        keyAgreement = Curve25519.KeyAgreement.PrivateKey()
    }

    public var publicKey: String { signing.publicKey.rawRepresentation.base64EncodedString() }
    public var keyAgreementKey: String { keyAgreement.publicKey.rawRepresentation.base64EncodedString() }

    /// Writes the private keys to `path` (created new, readable by the owner only).
    public func write(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw FederationError(description: "\(path) exists: a key file is never overwritten")
        }
        let record = [
            "site": site, "signing_private_key": signing.rawRepresentation.base64EncodedString(),
            "key_agreement_private_key": keyAgreement.rawRepresentation.base64EncodedString(),
        ]
        let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw FederationError(description: "cannot create \(path)")
        }
    }

    /// Reads a key file; the site it names must be `site`.
    public static func load(path: String, site: String) throws -> SiteKeys {
        guard let data = FileManager.default.contents(atPath: path),
            let record = try? JSONSerialization.jsonObject(with: data) as? [String: String]
        else {
            throw FederationError(description: "\(path): not a readable fttrain key file")
        }
        guard record["site"] == site else {
            throw FederationError(description: "\(path) holds the keys of \(record["site"] ?? "no site"), not of \(site)")
        }
        guard let s = record["signing_private_key"].flatMap({ Data(base64Encoded: $0) }),
            let k = record["key_agreement_private_key"].flatMap({ Data(base64Encoded: $0) }),
            let signing = try? Curve25519.Signing.PrivateKey(rawRepresentation: s),
            let agreement = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: k)
        else {
            throw FederationError(description: "\(path): malformed private keys")
        }
        return SiteKeys(site: site, signing: signing, keyAgreement: agreement)
    }

    private init(site: String, signing: Curve25519.Signing.PrivateKey, keyAgreement: Curve25519.KeyAgreement.PrivateKey) {
        self.site = site
        self.signing = signing
        self.keyAgreement = keyAgreement
    }
}

/// The X25519 public key type, for code that does not import Crypto itself.
public typealias Curve25519KeyAgreementPublicKey = Curve25519.KeyAgreement.PublicKey

public enum FederatedKeys {
    /// A site's key-agreement public key from the config (base64 of the raw 32 bytes).
    public static func keyAgreementPublicKey(_ base64: String, site: String) throws -> Curve25519.KeyAgreement.PublicKey {
        guard let raw = Data(base64Encoded: base64), let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw) else {
            throw FederationError(description: "the key_agreement_key of \(site) is not a base64 X25519 public key")
        }
        return key
    }
}

import Crypto
import Foundation

/// Every message a site sends the coordinator is signed with the site's Ed25519 identity key and
/// checked against the federation's site registry (site id → public key, from the config): an
/// update from an unknown site, or whose signature does not match its bytes, round and sender,
/// is rejected. The signed bytes bind the federation id, the round and the site, so an update
/// cannot be replayed in another round or another federation, or passed off as another site's.
/// Over the network a site also proves who it is when it connects, by signing the coordinator's
/// fresh challenge (`signHello`).
public struct SiteRegistry {
    public enum Rejection: Error, CustomStringConvertible, Equatable {
        case unknownSite(String)
        case badSignature(site: String, round: Int)
        case malformedKey(site: String)

        public var description: String {
            switch self {
            case .unknownSite(let site): return "update from \"\(site)\", which is not in the site registry: rejected"
            case .badSignature(let site, let round): return "update from \"\(site)\" for round \(round) has an invalid signature: rejected"
            case .malformedKey(let site): return "the registry's public key for \"\(site)\" is not a 32-byte Ed25519 key (base64)"
            }
        }
    }

    private let keys: [String: Curve25519.Signing.PublicKey]
    /// The federation the signatures must be bound to (`federation.federation_id`).
    public let federationID: String

    /// - Parameter publicKeys: site id → base64 of its raw 32-byte Ed25519 public key.
    public init(publicKeys: [String: String], federationID: String = "fttrain") throws {
        self.federationID = federationID
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for (site, text) in publicKeys {
            guard let raw = Data(base64Encoded: text),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else { throw Rejection.malformedKey(site: site) }
            keys[site] = key
        }
        self.keys = keys
    }

    /// Throws unless `signature` is `site`'s signature of `payload` for `round`.
    public func verify(_ payload: Data, signature: Data, site: String, round: Int) throws {
        guard let key = keys[site] else { throw Rejection.unknownSite(site) }
        guard
            key.isValidSignature(
                signature, for: UpdateSigner.signedBytes(payload, site: site, round: round, federationID: federationID))
        else {
            throw Rejection.badSignature(site: site, round: round)
        }
    }

    /// Whether `site` is in the registry.
    public func knows(_ site: String) -> Bool { keys[site] != nil }

    /// Throws unless `signature` is `site`'s signature of the coordinator's connection challenge.
    public func verifyHello(nonce: Data, signature: Data, site: String) throws {
        guard let key = keys[site] else { throw Rejection.unknownSite(site) }
        guard key.isValidSignature(signature, for: UpdateSigner.helloBytes(nonce, site: site, federationID: federationID)) else {
            throw Rejection.badSignature(site: site, round: -1)
        }
    }
}

/// A site's signing side.
public struct UpdateSigner {
    public let site: String
    public let federationID: String
    private let key: Curve25519.Signing.PrivateKey

    public init(site: String, privateKey: Curve25519.Signing.PrivateKey, federationID: String = "fttrain") {
        self.site = site
        self.federationID = federationID
        key = privateKey
    }

    /// A new identity: the private key (keep it at the site) and the base64 public key (for the registry).
    public static func generateIdentity() -> (privateKey: Curve25519.Signing.PrivateKey, publicKeyBase64: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (key, key.publicKey.rawRepresentation.base64EncodedString())
    }

    public func sign(_ payload: Data, round: Int) throws -> Data {
        try key.signature(for: Self.signedBytes(payload, site: site, round: round, federationID: federationID))
    }

    /// The answer to a coordinator's connection challenge.
    public func signHello(nonce: Data) throws -> Data {
        try key.signature(for: Self.helloBytes(nonce, site: site, federationID: federationID))
    }

    /// What is signed: a domain tag, the federation id, the round, the site id and the payload's SHA-256.
    static func signedBytes(_ payload: Data, site: String, round: Int, federationID: String) -> Data {
        var bytes = Data("fttrain federated update v2\u{0}".utf8)
        bytes.append(Data(federationID.utf8))
        bytes.append(0)
        withUnsafeBytes(of: UInt64(bitPattern: Int64(round)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data(site.utf8))
        bytes.append(0)
        bytes.append(contentsOf: SHA256.hash(data: payload))
        return bytes
    }
}

extension UpdateSigner {
    /// What a connecting site signs: a domain tag, the federation id, the site id and the nonce.
    static func helloBytes(_ nonce: Data, site: String, federationID: String) -> Data {
        var bytes = Data("fttrain federated hello v1\u{0}".utf8)
        bytes.append(Data(federationID.utf8))
        bytes.append(0)
        bytes.append(Data(site.utf8))
        bytes.append(0)
        bytes.append(nonce)
        return bytes
    }
}

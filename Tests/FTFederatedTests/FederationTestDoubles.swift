import Crypto
@testable import FTFederated

/// A site trainer that keeps what it received and what it sent each round (federated tests).
final class RecordingSiteTrainer: SiteTrainer, @unchecked Sendable {
    let inner: LoRASiteTrainer
    var received: [AdapterUpdate] = [], sent: [AdapterUpdate] = []
    init(_ inner: LoRASiteTrainer) { self.inner = inner }

    func train(from global: AdapterUpdate, round: Int) throws -> AdapterUpdate {
        received.append(global)
        let local = try inner.train(from: global, round: round)
        sent.append(local)
        return local
    }
}

/// The signing identities of site-1 and site-2 (new keys per instance).
final class SiteIdentities: @unchecked Sendable {
    let keys = (0..<2).map { _ in UpdateSigner.generateIdentity() }
    subscript(index: Int) -> (privateKey: Curve25519.Signing.PrivateKey, publicKeyBase64: String) { keys[index] }
}

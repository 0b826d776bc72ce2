import Crypto
import Foundation

/// Secure aggregation by pairwise additive masks (Bonawitz et al. 2017, without its dropout
/// recovery): every pair of sites agrees on a secret by X25519 key agreement, expands it with
/// ChaCha20 into a mask, and one adds while the other subtracts it. The coordinator sees only
/// masked vectors; their sum is the sum of the updates, because the masks cancel.
///
/// Updates are encoded in fixed point (`value · 2^fractionBits`, rounded, as wrapping 64-bit
/// integers), so the cancellation is exact: the secured sum equals the sum of the encoded
/// updates bit for bit, and differs from the float sum only by the rounding of the encoding
/// (at most 2^-(fractionBits+1) per element and site). A site that vanishes after masking leaves
/// its masks in the sum: the round must then be masked again among the sites that remain.
public enum SecureAggregation {
    /// 2^-32 resolution and a range of ±2^31 for the sum: far finer than float32 adapters need.
    public static let fractionBits = 32

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case outOfRange(Double)
        case unknownPeer(Int)
        public var description: String {
            switch self {
            case .outOfRange(let value): return "value \(value) is outside the fixed-point range of secure aggregation (±2^31)"
            case .unknownPeer(let site): return "no public key for site \(site)"
            }
        }
    }

    /// Fixed-point encoding, wrapping (two's complement) so that sums may overflow harmlessly.
    public static func encode(_ values: [Float]) throws -> [UInt64] {
        let scale = Double(UInt64(1) << fractionBits)
        return try values.map { value in
            let scaled = (Double(value) * scale).rounded()
            guard scaled.isFinite, abs(scaled) < 9.2e18 else { throw Failure.outOfRange(Double(value)) }
            return UInt64(bitPattern: Int64(scaled))
        }
    }

    /// The sum's values back from fixed point.
    public static func decode(_ values: [UInt64]) -> [Double] {
        let scale = Double(UInt64(1) << fractionBits)
        return values.map { Double(Int64(bitPattern: $0)) / scale }
    }

    /// The mask of `site` for a round: Σ over peers j of ±ChaCha20(secret(site, j)), + when
    /// site < j, − when site > j, so the masks of all sites of the round sum to zero.
    /// - Parameters:
    ///   - privateKey: this site's key-agreement key for the round.
    ///   - peers: every other site of the round and its (authenticated) public key.
    ///   - context: what binds the masks to this round (federation id and round number), so
    ///     masks are never reused.
    public static func mask(
        count: Int, site: Int, privateKey: Curve25519.KeyAgreement.PrivateKey,
        peers: [Int: Curve25519.KeyAgreement.PublicKey], context: String
    ) throws -> [UInt64] {
        var mask = [UInt64](repeating: 0, count: count)
        for (peer, publicKey) in peers.sorted(by: { $0.key < $1.key }) where peer != site {
            let secret = try privateKey.sharedSecretFromKeyAgreement(with: publicKey)
            let low = min(site, peer), high = max(site, peer)
            let key = secret.hkdfDerivedSymmetricKey(
                using: SHA256.self, salt: Data(context.utf8),
                sharedInfo: Data("fttrain secure aggregation \(low)-\(high)".utf8),
                outputByteCount: 32)
            let stream = try keystream(key: key, count: count)
            if site < peer {
                for i in 0..<count { mask[i] = mask[i] &+ stream[i] }
            } else {
                for i in 0..<count { mask[i] = mask[i] &- stream[i] }
            }
        }
        return mask
    }

    /// `encode(update) + mask`, what a site sends.
    public static func masked(_ update: [Float], mask: [UInt64]) throws -> [UInt64] {
        precondition(update.count == mask.count)
        return zip(try encode(update), mask).map { $0 &+ $1 }
    }

    /// The wrapping sum of the sites' masked vectors: the sum of their encoded updates.
    public static func sum(_ vectors: [[UInt64]]) -> [UInt64] {
        guard var total = vectors.first else { return [] }
        for vector in vectors.dropFirst() {
            precondition(vector.count == total.count)
            for i in total.indices { total[i] = total[i] &+ vector[i] }
        }
        return total
    }

    /// `count` 64-bit words of ChaCha20 keystream under `key` (ChaChaPoly over zeros, nonce 0:
    /// each key is used for one stream only).
    static func keystream(key: SymmetricKey, count: Int) throws -> [UInt64] {
        let zeros = Data(count: count * 8)
        let sealed = try ChaChaPoly.seal(zeros, using: key, nonce: ChaChaPoly.Nonce(data: Data(count: 12)))
        return sealed.ciphertext.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
        }
    }
}

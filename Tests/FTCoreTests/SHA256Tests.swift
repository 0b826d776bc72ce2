import FTCore
import Foundation
import XCTest

/// SHA-256 against the FIPS 180-4 example vectors and `sha256sum`, fed whole, byte by byte and in
/// uneven chunks (block boundaries are where streaming hashes break), and from a file.
final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hexDigest(of: Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(of: []), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // 56 bytes: the length no longer fits the first padded block.
        XCTAssertEqual(SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// 0...255 five times (1280 bytes), as `sha256sum` hashes it, in every feeding pattern.
    func testStreamingInChunksEqualsOneShot() throws {
        let bytes = Array((0..<5).flatMap { _ in (0...255).map { UInt8($0) } })
        let expected = "d414b085826eb06778483ba35564dc849e643359f69ed9747878ba6e54985bed"
        XCTAssertEqual(SHA256.hexDigest(of: bytes), expected)
        for chunk in [1, 3, 63, 64, 65, 127, 1000] {
            var h = SHA256()
            for start in stride(from: 0, to: bytes.count, by: chunk) { h.update(Array(bytes[start..<min(start + chunk, bytes.count)])) }
            XCTAssertEqual(h.finalize().hexString, expected, "chunks of \(chunk)")
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha256-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SHA256.hexDigest(ofFile: path), expected)
        XCTAssertThrowsError(try SHA256.hexDigest(ofFile: path + ".missing")) { error in
            XCTAssertTrue("\(error)".contains(".missing"), "\(error)")
        }
    }
}

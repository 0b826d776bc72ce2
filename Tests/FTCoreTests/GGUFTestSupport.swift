import FTCore
import Foundation
import XCTest

/// What the GGUF tests share: the fixture folder, the metadata of every value type that
/// scripts/reference/make_gguf_fixtures.py writes (`add_metadata`, same order), and a raw byte
/// builder for files no writer would produce.
enum GGUFFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gguf")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// `add_metadata` of make_gguf_fixtures.py, in its order.
    static let everyType: [(String, GGUFValue)] = [
        ("test.uint8", .uint8(200)),
        ("test.int8", .int8(-100)),
        ("test.uint16", .uint16(60000)),
        ("test.int16", .int16(-30000)),
        ("test.uint32", .uint32(4_000_000_000)),
        ("test.int32", .int32(-2_000_000_000)),
        ("test.float32", .float32(0.1)),
        ("test.bool", .bool(true)),
        ("test.bool_false", .bool(false)),
        ("test.string", .string("héllo, 世界 🦙\n")),
        ("test.empty_string", .string("")),
        ("test.uint64", .uint64(18_000_000_000_000_000_000)),
        ("test.int64", .int64(-9_000_000_000_000_000_000)),
        ("test.float64", .float64(1.0000000000000002e300)),
        ("test.array.uint8", .array([.uint8(0), .uint8(7), .uint8(255)])),
        ("test.array.int32", .array([.int32(1), .int32(-2), .int32(3)])),
        ("test.array.int64", .array([.int64(-(1 << 62)), .int64(1 << 62)])),
        ("test.array.float32", .array([.float32(0.5), .float32(-1.25), .float32(3e38)])),
        ("test.array.float64", .array([.float64(0.1), .float64(-2.5)])),
        ("test.array.bool", .array([.bool(true), .bool(false), .bool(true)])),
        ("test.array.string", .array([.string("a"), .string("ü"), .string(""), .string("Ġthe")])),
        ("test.array.nested", .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])])),
        ("test.array.nested_strings", .array([.array([.string("x"), .string("y")]), .array([.string("z")])])),
    ]

    /// A fresh scratch directory, removed when the test ends.
    static func scratch(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}

/// Little-endian GGUF bytes assembled by hand, for files that are wrong in one precise way.
struct RawGGUF {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// A tensor info as the file stores it (ne innermost first, offset relative to the data section).
    struct Tensor {
        var name: String
        var ne: [Int64]
        var type: UInt32
        var offset: UInt64
    }

    /// A v3 file: header, each metadata entry (`write` appends the type code and value), tensor
    /// infos, zero padding to `alignment`, then `dataBytes` bytes of 0x11.
    static func file(
        version: UInt32 = 3, metadata: [(String, (inout RawGGUF) -> Void)] = [], tensors: [Tensor] = [], alignment: Int = 32,
        dataBytes: Int = 0
    ) -> [UInt8] {
        var r = RawGGUF()
        r.bytes.append(contentsOf: Array("GGUF".utf8))
        r.u32(version)
        r.u64(UInt64(tensors.count))
        r.u64(UInt64(metadata.count))
        for (key, write) in metadata {
            r.string(key)
            write(&r)
        }
        for t in tensors {
            r.string(t.name)
            r.u32(UInt32(t.ne.count))
            for d in t.ne { r.u64(UInt64(bitPattern: d)) }
            r.u32(t.type)
            r.u64(t.offset)
        }
        while r.bytes.count % alignment != 0 { r.bytes.append(0) }
        r.bytes.append(contentsOf: repeatElement(0x11, count: dataBytes))
        return r.bytes
    }
}

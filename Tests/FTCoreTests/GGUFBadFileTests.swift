import FTCore
import Foundation
import XCTest

/// Broken GGUF files: each must be a GGUFError whose message names the file and the problem —
/// never a crash, never a huge allocation. Truncations are tried at every offset of the fixture.
final class GGUFBadFileTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = try GGUFFixtures.scratch(self)
    }

    private var fixture: [UInt8] { get throws { try Array(Data(contentsOf: GGUFFixtures.url("types.gguf"))) } }

    /// Writes `bytes`, opens them and checks the error names the file and every fragment.
    @discardableResult
    private func assertRejected(
        _ bytes: [UInt8], _ fragments: [String], name: String = "bad.gguf", line: UInt = #line
    ) -> String? {
        let url = scratch.appendingPathComponent(name)
        do {
            try Data(bytes).write(to: url)
            _ = try GGUFFile(url: url)
            XCTFail("\(name) (\(bytes.count) bytes) was accepted; expected an error containing \(fragments)", line: line)
            return nil
        } catch let error as GGUFError {
            let message = error.description
            for f in ["GGUF file '\(url.path)'"] + fragments {
                XCTAssert(message.contains(f), "'\(message)' lacks '\(f)'", line: line)
            }
            return message
        } catch {
            XCTFail("not a GGUFError: \(error)", line: line)
            return nil
        }
    }

    /// The offset just after the string `key` in `bytes` (where its value type follows).
    private func offset(after key: String, in bytes: [UInt8]) throws -> Int {
        let needle = Array(key.utf8)
        for i in 0...(bytes.count - needle.count) where bytes[i..<i + needle.count].elementsEqual(needle) {
            return i + needle.count
        }
        throw XCTSkip("fixture lacks \(key)")  // cannot happen with the committed fixture
    }

    private func patch(_ bytes: inout [UInt8], at offset: Int, u64 value: UInt64) {
        for k in 0..<8 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
    }

    private func patch(_ bytes: inout [UInt8], at offset: Int, u32 value: UInt32) {
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
    }

    func testTruncationAtEveryOffsetIsAnError() throws {
        let bytes = try fixture
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        let dataEnd = file.tensors.map { $0.offset + $0.byteCount }.max()!
        // Every offset of the header, metadata, tensor infos and padding; in the data, every 5th
        // byte and each tensor's first, second and last byte.
        var cuts = Set(0..<file.dataOffset).union(stride(from: file.dataOffset, to: dataEnd, by: 5))
        for t in file.tensors { cuts.formUnion([t.offset, t.offset + 1, t.offset + t.byteCount - 1]) }
        var rejected = 0
        for n in cuts.sorted() {
            let message = assertRejected(Array(bytes[0..<n]), ["truncated"], name: "cut\(n).gguf")
            if message != nil { rejected += 1 }
            try? FileManager.default.removeItem(at: scratch.appendingPathComponent("cut\(n).gguf"))
        }
        XCTAssertEqual(rejected, cuts.count)
        // Cutting only the last tensor's trailing padding leaves a valid file.
        if dataEnd < bytes.count {
            let url = scratch.appendingPathComponent("unpadded.gguf")
            try Data(bytes[0..<dataEnd]).write(to: url)
            XCTAssertEqual(try GGUFFile(url: url).tensors.count, file.tensors.count)
        }
    }

    func testTruncationMessagesSayWhere() throws {
        let bytes = try fixture
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        assertRejected(Array(bytes[0..<10]), ["shorter than the 24-byte GGUF header", "truncated"])
        // Inside a metadata value: the key is named.
        let inString = try offset(after: "test.string", in: bytes) + 4 + 8 + 3
        assertRejected(Array(bytes[0..<inString]), ["test.string", "truncated"])
        let inArray = try offset(after: "test.array.float64", in: bytes) + 4 + 4 + 8 + 3
        assertRejected(Array(bytes[0..<inArray]), ["the value of metadata key 'test.array.float64'", "truncated"])
        // Inside a tensor info: the tensor is named.
        let inInfo = try offset(after: "q4_1.matrix", in: bytes) + 6
        assertRejected(Array(bytes[0..<inInfo]), ["tensor 'q4_1.matrix'", "truncated"])
        // Inside the data: the tensor whose bytes are missing is named.
        let q6 = try XCTUnwrap(file.tensor(named: "q6_k.matrix"))
        assertRejected(
            Array(bytes[0..<q6.offset + 100]),
            ["tensor 'q6_k.matrix'", "truncated file: the data of this Q6_K tensor of shape [3, 512] needs bytes"])
    }

    func testWrongMagicAndVersion() throws {
        var bytes = try fixture
        bytes[0] = UInt8(ascii: "X")
        assertRejected(bytes, ["not a GGUF file", "58 47 55 46"])
        assertRejected(Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 0, count: 40), ["not a GGUF file"])
        for (version, fragment) in [(UInt32(4), "unknown GGUF version 4"), (1, "obsolete"), (0x0300_0000, "big-endian"), (0, "version 0")] {
            bytes = try fixture
            patch(&bytes, at: 4, u32: version)
            assertRejected(bytes, [fragment])
        }
    }

    func testAbsurdCountsAndLengths() throws {
        var bytes = try fixture
        patch(&bytes, at: 8, u64: 1 << 62)
        assertRejected(bytes, ["and 4611686018427387904 tensors", "counts are corrupt"])
        bytes = try fixture
        patch(&bytes, at: 16, u64: .max)
        assertRejected(bytes, ["declares 18446744073709551615 metadata entries", "more than 2^64"])
        // The first key's length.
        bytes = try fixture
        patch(&bytes, at: 24, u64: 1 << 62)
        assertRejected(bytes, ["string length 4611686018427387904", "exceeds the", "metadata entry #0"])
        // A string value's length.
        bytes = try fixture
        patch(&bytes, at: try offset(after: "test.string", in: bytes) + 4, u64: 1 << 62)
        assertRejected(bytes, ["metadata key 'test.string'", "string length 4611686018427387904"])
        // An array's count: 2^62 strings must not be reserved.
        bytes = try fixture
        patch(&bytes, at: try offset(after: "test.array.string", in: bytes) + 8, u64: 1 << 62)
        assertRejected(bytes, ["metadata key 'test.array.string'", "array of 4611686018427387904 string elements"])
        bytes = try fixture
        patch(&bytes, at: try offset(after: "test.array.uint8", in: bytes) + 8, u64: UInt64(bytes.count))
        assertRejected(bytes, ["test.array.uint8", "cannot fit"])
    }

    func testUnknownOrInvalidValues() throws {
        var bytes = try fixture
        patch(&bytes, at: try offset(after: "test.uint8", in: bytes), u32: 13)
        assertRejected(bytes, ["metadata key 'test.uint8'", "unknown value type 13"])
        bytes = try fixture
        patch(&bytes, at: try offset(after: "test.array.int32", in: bytes) + 4, u32: 99)
        assertRejected(bytes, ["test.array.int32", "unknown array element type 99"])
        bytes = try fixture
        bytes[try offset(after: "test.bool", in: bytes) + 4] = 2
        assertRejected(bytes, ["metadata key 'test.bool'", "bool value", "is 2, not 0 or 1"])
        bytes = try fixture
        bytes[try offset(after: "test.string", in: bytes) + 4 + 8] = 0xFF
        assertRejected(bytes, ["test.string", "is not valid UTF-8"])
        // Arrays nested 17 deep.
        let deep = RawGGUF.file(metadata: [
            (
                "deep",
                { r in
                    r.u32(9)
                    for _ in 0..<17 {
                        r.u32(9)
                        r.u64(1)
                    }
                    r.u32(0)
                    r.u64(0)
                }
            )
        ])
        assertRejected(deep, ["metadata key 'deep'", "nested more than 16 deep"])
    }

    func testDuplicatesAndBadAlignment() throws {
        let str: (String) -> (inout RawGGUF) -> Void = { s in
            { r in
                r.u32(8)
                r.string(s)
            }
        }
        assertRejected(RawGGUF.file(metadata: [("a", str("x")), ("b", str("y")), ("a", str("z"))]), ["metadata key 'a'", "duplicate metadata key"])
        let t = RawGGUF.Tensor(name: "w", ne: [8], type: 0, offset: 0)
        assertRejected(
            RawGGUF.file(tensors: [t, .init(name: "w", ne: [8], type: 0, offset: 32)], dataBytes: 64), ["tensor 'w'", "duplicate tensor name"])
        for (value, fragment) in [(UInt32(3), "alignment 3 is not a power of two"), (0, "alignment 0 is not a power of two")] {
            let bytes = RawGGUF.file(
                metadata: [
                    (
                        "general.alignment",
                        { r in
                            r.u32(4)
                            r.u32(value)
                        }
                    )
                ], tensors: [t], dataBytes: 32)
            assertRejected(bytes, ["metadata key 'general.alignment'", fragment])
        }
        assertRejected(
            RawGGUF.file(metadata: [("general.alignment", str("32"))]), ["general.alignment", "is a string, expected an unsigned integer"])
    }

    func testBadTensorInfos() throws {
        func tensor(_ ne: [Int64], type: UInt32 = 0, offset: UInt64 = 0) -> [UInt8] {
            RawGGUF.file(tensors: [.init(name: "blk.0.w", ne: ne, type: type, offset: offset)], dataBytes: 256)
        }
        assertRejected(tensor([1, 1, 1, 1, 1]), ["tensor 'blk.0.w'", "n_dims is 5"])
        assertRejected(tensor([4, -2]), ["tensor 'blk.0.w'", "ne[1] is -2, negative"])
        assertRejected(tensor([1 << 40, 1 << 40]), ["product that does not fit"])
        assertRejected(tensor([32], type: 99), ["unknown tensor type 99"])
        assertRejected(tensor([33, 2], type: 2), ["ne[0] = 33 is not a multiple of Q4_0's block size 32"])
        assertRejected(tensor([8], offset: 4), ["data offset 4 is not a multiple of the alignment 32"])
        assertRejected(tensor([8], offset: 1 << 40), ["tensor 'blk.0.w'", "truncated file", "needs bytes"])
        assertRejected(tensor([8], offset: .max), ["data offset 18446744073709551615 is absurd"])
        assertRejected(tensor([1 << 20, 1 << 20]), ["tensor 'blk.0.w'", "truncated file"])
        // Overlaps: the second tensor starts inside the first.
        let overlapping = RawGGUF.file(
            tensors: [.init(name: "a", ne: [16], type: 0, offset: 0), .init(name: "b", ne: [8], type: 0, offset: 32)], dataBytes: 128)
        assertRejected(overlapping, ["tensor 'b'", "overlaps tensor 'a'"])
        // The data section itself past the end.
        var cut = RawGGUF.file(tensors: [.init(name: "a", ne: [0], type: 0, offset: 0)])
        cut.removeLast((cut.count - 24) / 2)
        assertRejected(cut, ["truncated"])
        // Zero-element tensors and no tensors at all are fine.
        let url = scratch.appendingPathComponent("empty.gguf")
        try Data(RawGGUF.file(tensors: [.init(name: "e", ne: [0, 4], type: 2, offset: 0)])).write(to: url)
        let file = try GGUFFile(url: url)
        XCTAssertEqual(try file.floats(file.tensors[0]), [])
        XCTAssertEqual(file.tensors[0].shape, [4, 0])
    }

    func testMissingFileAndDirectory() throws {
        XCTAssertThrowsError(try GGUFFile(url: scratch.appendingPathComponent("absent.gguf"))) {
            XCTAssert(String(describing: $0).contains("absent.gguf': cannot open file"))
        }
        XCTAssertThrowsError(try GGUFFile(url: scratch)) { XCTAssert(String(describing: $0).contains("not a regular file")) }
    }
}

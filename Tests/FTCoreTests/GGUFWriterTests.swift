import FTCore
import Foundation
import XCTest

/// GGUFWriter: byte-identical to gguf-py's GGUFWriter for the same metadata and tensors
/// (Fixtures/gguf/writer_reference.gguf), round trips through GGUFFile, and refuses what it cannot write.
final class GGUFWriterTests: XCTestCase {
    /// v[i] = Float(i) · scale − shift, in float32 (make_gguf_fixtures.py's `writer_values`).
    private func values(_ n: Int, _ scale: Float, _ shift: Float) -> [Float] { (0..<n).map { Float($0) * scale - shift } }

    private func referenceWriter() throws -> GGUFWriter {
        var writer = GGUFWriter()
        writer.add(key: "general.architecture", .string("llama"))
        for (key, value) in GGUFFixtures.everyType { writer.add(key: key, value) }
        writer.add(key: "llama.block_count", .uint32(2))
        try values(15, 0.37, 1.5).withUnsafeBufferPointer { try writer.addTensor(name: "token_embd.weight", shape: [5, 3], values: $0, type: .f32) }
        try values(12, -0.011, -0.25).withUnsafeBufferPointer {
            try writer.addTensor(name: "blk.0.attn_q.weight", shape: [3, 4], values: $0, type: .f16)
        }
        try values(3, 1, 0).withUnsafeBufferPointer { try writer.addTensor(name: "output_norm.weight", shape: [3], values: $0, type: .f32) }
        try values(24, 1e-3, 0).withUnsafeBufferPointer {
            try writer.addTensor(name: "blk.0.ffn_up.weight", shape: [2, 3, 4], values: $0, type: .f16)
        }
        return writer
    }

    func testByteIdenticalToGGUFPy() throws {
        let url = try GGUFFixtures.scratch(self).appendingPathComponent("out.gguf")
        try referenceWriter().write(to: url)
        let written = try Data(contentsOf: url)
        let reference = try Data(contentsOf: GGUFFixtures.url("writer_reference.gguf"))
        XCTAssertEqual(written.count, reference.count)
        let firstDifference = zip(written, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertNil(firstDifference, "first differing byte")
        // No temporary file is left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path), ["out.gguf"])
    }

    func testRoundTrip() throws {
        let url = try GGUFFixtures.scratch(self).appendingPathComponent("round.gguf")
        var writer = try referenceWriter()
        writer.add(key: "llama.block_count", .uint32(7))  // replaces, keeps its position
        writer.add(key: "general.alignment", .uint32(128))
        writer.add(key: "test.empty_array", .array([]))
        try writer.write(to: url)
        let file = try GGUFFile(url: url)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 128)
        XCTAssertEqual(
            file.metadataKeys,
            ["general.architecture"] + GGUFFixtures.everyType.map(\.0) + ["llama.block_count", "general.alignment", "test.empty_array"])
        for (key, value) in GGUFFixtures.everyType { XCTAssertEqual(file.metadata[key], value, key) }
        XCTAssertEqual(try file.int("llama.block_count"), 7)
        XCTAssertEqual(try file.stringArray("test.empty_array"), [])
        XCTAssertEqual(file.tensors.map(\.name), ["token_embd.weight", "blk.0.attn_q.weight", "output_norm.weight", "blk.0.ffn_up.weight"])
        XCTAssertEqual(file.tensors.map(\.shape), [[5, 3], [3, 4], [3], [2, 3, 4]])
        XCTAssertEqual(file.tensors.map(\.type), [.f32, .f16, .f32, .f16])
        for t in file.tensors { XCTAssertEqual((t.offset - file.dataOffset) % 128, 0, t.name) }
        XCTAssertEqual(try file.floats(file.tensors[0]), values(15, 0.37, 1.5))
        XCTAssertEqual(try file.floats(file.tensors[2]), [0, 1, 2])
        // F16: the nearest half, as HalfPrecision (and NumPy's astype(float16)) round.
        let f16 = values(24, 1e-3, 0).map { HalfPrecision.float(fromF16Bits: HalfPrecision.f16Bits(from: $0)) }
        XCTAssertEqual(try file.floats(file.tensors[3]), f16)
        XCTAssertNotEqual(f16, values(24, 1e-3, 0), "the F16 case rounds something")
    }

    func testRefusals() throws {
        var writer = GGUFWriter()
        let three: [Float] = [1, 2, 3]
        func assertError(_ body: (inout GGUFWriter) throws -> Void, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(&writer), line: line) { error in
                XCTAssert(error is GGUFError, line: line)
                XCTAssert(String(describing: error).contains(fragment), "'\(error)' lacks '\(fragment)'", line: line)
            }
        }
        try three.withUnsafeBufferPointer { v in
            try writer.addTensor(name: "a", shape: [3], values: v, type: .f32)
            assertError({ try $0.addTensor(name: "a", shape: [3], values: v, type: .f32) }, "tensor 'a': duplicate tensor name")
            assertError({ try $0.addTensor(name: "b", shape: [2, 2], values: v, type: .f32) }, "shape [2, 2] has 4 elements but 3 values")
            assertError({ try $0.addTensor(name: "b", shape: [3], values: v, type: .q4_0) }, "cannot write type Q4_0")
            assertError({ try $0.addTensor(name: "b", shape: [1, 1, 1, 1, 3], values: v, type: .f32) }, "at most 4")
            assertError({ try $0.addTensor(name: "b", shape: [-3], values: v, type: .f32) }, "negative dimension")
            assertError({ try $0.addTensor(name: "", shape: [3], values: v, type: .f32) }, "empty tensor name")
            assertError({ try $0.addTensor(name: String(repeating: "x", count: 64), shape: [3], values: v, type: .f32) }, "at most 63")
        }
        let dir = try GGUFFixtures.scratch(self)
        var mixed = GGUFWriter()
        mixed.add(key: "bad", .array([.int32(1), .string("x")]))
        XCTAssertThrowsError(try mixed.write(to: dir.appendingPathComponent("m.gguf"))) {
            XCTAssert(String(describing: $0).contains("metadata key 'bad': array elements must all have one type, but it mixes int32 and string"))
        }
        var aligned = GGUFWriter()
        aligned.add(key: "general.alignment", .uint32(48))
        XCTAssertThrowsError(try aligned.write(to: dir.appendingPathComponent("a.gguf"))) {
            XCTAssert(String(describing: $0).contains("general.alignment"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "nothing left behind")
        XCTAssertThrowsError(try writer.write(to: dir.appendingPathComponent("no/such/dir/x.gguf"))) {
            XCTAssert(String(describing: $0).contains("cannot create temporary file"))
        }
    }
}

import FTCore
import Foundation
import XCTest

/// GGUFFile against gguf-py on Fixtures/gguf/types.gguf (written by gguf-py's GGUFWriter, see
/// scripts/reference/make_gguf_fixtures.py): metadata of every value type, and every supported
/// tensor type de-quantised bit for bit as gguf-py's `dequantize` (types.expected.safetensors).
final class GGUFReaderTests: XCTestCase {
    func testMetadataOfEveryValueType() throws {
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.metadataKeys, ["general.architecture", "general.alignment"] + GGUFFixtures.everyType.map(\.0))
        XCTAssertEqual(file.metadata["general.architecture"], .string("llama"))
        XCTAssertEqual(file.metadata["general.alignment"], .uint32(64))
        for (key, value) in GGUFFixtures.everyType {
            XCTAssertEqual(file.metadata[key], value, key)
        }
        XCTAssertEqual(file.metadata.count, file.metadataKeys.count)
    }

    func testTypedMetadataReads() throws {
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        XCTAssertEqual(try file.string("test.string"), "héllo, 世界 🦙\n")
        XCTAssertEqual(try file.int("test.uint8"), 200)
        XCTAssertEqual(try file.int("test.int64"), -9_000_000_000_000_000_000)
        XCTAssertEqual(try file.int("test.uint32"), 4_000_000_000)
        XCTAssertEqual(try file.float("test.float32"), Double(Float(0.1)))
        XCTAssertEqual(try file.float("test.float64"), 1.0000000000000002e300)
        XCTAssertEqual(try file.float("test.int16"), -30000)
        XCTAssertEqual(try file.bool("test.bool"), true)
        XCTAssertEqual(try file.optionalBool("test.bool_false"), false)
        XCTAssertNil(try file.optionalString("no.such.key"))
        XCTAssertNil(try file.optionalInt("no.such.key"))
        XCTAssertNil(try file.optionalFloat("no.such.key"))
        XCTAssertEqual(try file.optionalInt("test.int8"), -100)
        XCTAssertEqual(try file.stringArray("test.array.string"), ["a", "ü", "", "Ġthe"])
        XCTAssertEqual(try file.intArray("test.array.uint8"), [0, 7, 255])
        XCTAssertEqual(try file.intArray("test.array.int64"), [-(1 << 62), 1 << 62])
        XCTAssertEqual(try file.floatArray("test.array.float32"), [0.5, -1.25, 3e38])
        XCTAssertEqual(try file.floatArray("test.array.float64"), [0.1, -2.5])

        // Errors name the file and the key.
        let path = GGUFFixtures.url("types.gguf").path
        func assertError(_ body: () throws -> Any, _ fragments: [String], line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                let message = String(describing: error)
                XCTAssert(error is GGUFError, message, line: line)
                for f in [path] + fragments { XCTAssert(message.contains(f), "'\(message)' lacks '\(f)'", line: line) }
            }
        }
        assertError({ try file.string("no.such.key") }, ["metadata key 'no.such.key'", "missing"])
        assertError({ try file.string("test.uint8") }, ["metadata key 'test.uint8'", "is a uint8, expected a string"])
        assertError({ try file.int("test.uint64") }, ["test.uint64", "18000000000000000000 does not fit an Int"])
        assertError({ try file.int("test.float32") }, ["test.float32", "is a float32, expected an integer"])
        assertError({ try file.optionalString("test.int32") as Any }, ["test.int32", "expected a string"])
        assertError({ try file.stringArray("test.array.int32") }, ["test.array.int32", "element 0 is a int32, expected a string"])
        assertError({ try file.intArray("test.string") }, ["test.string", "is a string, expected an array of integers"])
        assertError({ try file.floatArray("test.array.string") }, ["element 0 is a string, expected a number"])
    }

    func testEveryTensorTypeMatchesGGUFPyBitForBit() throws {
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        let expected = try SafeTensorsFile(path: GGUFFixtures.url("types.expected.safetensors").path)
        XCTAssertEqual(file.tensors.map(\.name).sorted(), (expected.tensors.map(\.name) + ["unsupported.q5_k"]).sorted())
        let types: [String: GGMLType] = [
            "f32.matrix": .f32, "f32.vector": .f32, "f32.cube": .f32, "f16.matrix": .f16, "bf16.matrix": .bf16,
            "q8_0.matrix": .q8_0, "q4_0.matrix": .q4_0, "q4_1.matrix": .q4_1, "q4_k.matrix": .q4_K, "q6_k.matrix": .q6_K,
        ]
        for reference in expected.tensors {
            let info = try XCTUnwrap(file.tensor(named: reference.name), reference.name)
            XCTAssertEqual(info.type, types[reference.name], reference.name)
            XCTAssertEqual(info.shape, reference.shape, reference.name)
            XCTAssertEqual(info.byteCount, info.elementCount / info.type.blockSize * info.type.bytesPerBlock)
            XCTAssertEqual((info.offset - file.dataOffset) % 64, 0, "\(reference.name) is aligned")
            let got = try file.floats(info)
            let want = try expected.floats(reference.name)
            XCTAssertEqual(got.count, want.count, reference.name)
            let mismatches = zip(got, want).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssert(mismatches.isEmpty, "\(reference.name): \(mismatches.count) values differ, first \(mismatches.prefix(3))")
            // The destination-buffer form gives the same values.
            var again = [Float](repeating: .nan, count: info.elementCount)
            try again.withUnsafeMutableBufferPointer { try file.dequantize(info, into: $0) }
            XCTAssertEqual(again.map(\.bitPattern), got.map(\.bitPattern), reference.name)
        }
        // The special F16 values came through (the script puts them first).
        let f16 = try file.floats(XCTUnwrap(file.tensor(named: "f16.matrix")))
        XCTAssertEqual(Array(f16.prefix(3)), [.infinity, -.infinity, 0])
        XCTAssertEqual(f16[2].sign, .minus)
        XCTAssertEqual(f16[5], 65504)
    }

    func testUnsupportedTypeIsRefusedByName() throws {
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        let info = try XCTUnwrap(file.tensor(named: "unsupported.q5_k"))
        XCTAssertEqual(info.type, .q5_K)
        XCTAssertEqual(info.shape, [1, 256])
        XCTAssertThrowsError(try file.floats(info)) { error in
            XCTAssertEqual(
                String(describing: error),
                "GGUF file '\(file.path)', tensor 'unsupported.q5_k': tensor unsupported.q5_k has type Q5_K, which fttrain cannot de-quantise (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)"
            )
        }
        XCTAssertEqual(GGMLType.q5_K.name, "Q5_K")
        XCTAssertEqual(GGMLType.iq2_XXS.name, "IQ2_XXS")
        XCTAssertEqual(GGMLType.bf16.name, "BF16")
    }

    func testForeignOrMisSizedRequestsAreErrors() throws {
        let file = try GGUFFile(url: GGUFFixtures.url("types.gguf"))
        let real = try XCTUnwrap(file.tensor(named: "f32.matrix"))
        // A description this file did not produce (here: claiming more bytes) is refused, not read.
        let forged = GGUFTensorInfo(name: real.name, shape: [3000, 5], type: .f32, offset: real.offset, byteCount: 60000)
        XCTAssertThrowsError(try file.floats(forged)) { XCTAssert(String(describing: $0).contains("does not belong to this file")) }
        var small = [Float](repeating: 0, count: 4)
        XCTAssertThrowsError(try small.withUnsafeMutableBufferPointer { try file.dequantize(real, into: $0) }) {
            XCTAssert(String(describing: $0).contains("destination holds 4 floats but the tensor has 15 elements"))
        }
        XCTAssertEqual(try file.floats(named: "f32.matrix"), try file.floats(real))
        XCTAssertThrowsError(try file.floats(named: "nope")) { XCTAssert(String(describing: $0).contains("tensor 'nope': no such tensor")) }
        XCTAssertNil(file.tensor(named: "nope"))
        XCTAssertThrowsError(try file.requireTensor("nope")) { XCTAssert(String(describing: $0).contains("tensor 'nope': no such tensor")) }
    }

    func testVersion2AndDefaultAlignment() throws {
        // A v2 file without general.alignment: data at the next multiple of 32 after the infos.
        let bytes = RawGGUF.file(
            version: 2,
            metadata: [
                (
                    "general.name",
                    { r in
                        r.u32(8)
                        r.string("tiny")
                    }
                )
            ],
            tensors: [.init(name: "w", ne: [2, 3], type: 0, offset: 0), .init(name: "b", ne: [3], type: 0, offset: 32)],
            dataBytes: 44)
        let url = try GGUFFixtures.scratch(self).appendingPathComponent("v2.gguf")
        try Data(bytes).write(to: url)
        let file = try GGUFFile(url: url)
        XCTAssertEqual(file.version, 2)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.dataOffset % 32, 0)
        XCTAssertEqual(file.tensors.map(\.shape), [[3, 2], [3]])
        XCTAssertEqual(try file.string("general.name"), "tiny")
        let w = try file.floats(file.tensors[0])
        XCTAssertEqual(w.count, 6)
        XCTAssertEqual(w[0].bitPattern, 0x1111_1111)
    }
}

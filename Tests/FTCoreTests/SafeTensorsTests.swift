import Foundation
import XCTest
import FTCore

// MARK: - Reference files produced by the Python `safetensors` library
//
// Generated once with the reference venv (safetensors 0.8.0, torch for BF16):
//
//     import base64, torch
//     from safetensors.torch import save
//     t = {
//         "weight": torch.tensor([[1.0, -2.5, 3.25], [0.1, 65504.0, -0.0]], dtype=torch.float32),
//         "scalar": torch.tensor(7.0),
//         "empty": torch.zeros(2, 0),
//         "enc.\u00e9/\"q\"": torch.tensor([0.5], dtype=torch.float32),
//         "half": torch.tensor([1.0, 0.333, 65519.0, 6e-8, -3.0e-5, 1e6], dtype=torch.float32).to(torch.float16),
//         "brain": torch.tensor([1.0, 3.14159, -1e-40, 3e38, 1e39], dtype=torch.float32).to(torch.bfloat16),
//         "double": torch.tensor([0.5, -1.25], dtype=torch.float64),
//         "ids": torch.tensor([[0, 1, -2, 9007199254740993]], dtype=torch.int64),
//         "i32": torch.tensor([-7, 2147483647], dtype=torch.int32),
//         "i16": torch.tensor([-32768, 5], dtype=torch.int16),
//         "i8": torch.tensor([-128, 127], dtype=torch.int8),
//         "u8": torch.tensor([0, 255], dtype=torch.uint8),
//         "mask": torch.tensor([True, False, True]),
//     }
//     print(base64.b64encode(save(t, metadata={"format": "pt"})).decode())
//
// (Its header happens to be 808 bytes, already a multiple of 8, so the second
// file below covers the space padding.)
private let referenceAllDTypesBase64 = """
    KAMAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJpZHMiOnsiZHR5cGUiOiJJNjQiLCJzaGFwZSI6WzEsNF0sImRhdGFfb2Zmc2V0cyI6WzAsMzJdfSwiZG91YmxlIjp7ImR0eXBlIjoiRjY0Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMzIsNDhdfSwiZW1wdHkiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsMF0sImRhdGFfb2Zmc2V0cyI6WzQ4LDQ4XX0sImVuYy7DqS9cInFcIiI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMV0sImRhdGFfb2Zmc2V0cyI6WzQ4LDUyXX0sInNjYWxhciI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbXSwiZGF0YV9vZmZzZXRzIjpbNTIsNTZdfSwid2VpZ2h0Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDNdLCJkYXRhX29mZnNldHMiOls1Niw4MF19LCJpMzIiOnsiZHR5cGUiOiJJMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOls4MCw4OF19LCJicmFpbiI6eyJkdHlwZSI6IkJGMTYiLCJzaGFwZSI6WzVdLCJkYXRhX29mZnNldHMiOls4OCw5OF19LCJoYWxmIjp7ImR0eXBlIjoiRjE2Iiwic2hhcGUiOls2XSwiZGF0YV9vZmZzZXRzIjpbOTgsMTEwXX0sImkxNiI6eyJkdHlwZSI6IkkxNiIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzExMCwxMTRdfSwiaTgiOnsiZHR5cGUiOiJJOCIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzExNCwxMTZdfSwidTgiOnsiZHR5cGUiOiJVOCIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzExNiwxMThdfSwibWFzayI6eyJkdHlwZSI6IkJPT0wiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlsxMTgsMTIxXX19AAAAAAAAAAABAAAAAAAAAP7/////////AQAAAAAAIAAAAAAAAADgPwAAAAAAAPS/AAAAPwAA4EAAAIA/AAAgwAAAUEDNzMw9AOB/RwAAAID5////////f4A/SUABgGJ/gH8APFQ1/3sBAPeBAHwAgAUAgH8A/wEAAQ==
    """

//     b = save({"b": torch.tensor([1.5], dtype=torch.float16),
//               "a": torch.tensor([-2.0], dtype=torch.bfloat16)})
//     print(base64.b64encode(b).decode())
//
// Header: {"a":{"dtype":"BF16",...},"b":{"dtype":"F16",...}} + 4 spaces (112 bytes).
private let referencePaddedBase64 = """
    cAAAAAAAAAB7ImEiOnsiZHR5cGUiOiJCRjE2Iiwic2hhcGUiOlsxXSwiZGF0YV9vZmZzZXRzIjpbMCwyXX0sImIiOnsiZHR5cGUiOiJGMTYiLCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOlsyLDRdfX0gICAgAMAAPg==
    """

/// 1e-40 as a Float (a subnormal), written by bits to avoid the literal-underflow warning.
private let tinySubnormal = Float(bitPattern: 0x0001_16C2)

private func decodeBase64(_ s: String) -> [UInt8] {
    [UInt8](Data(base64Encoded: s.filter { !$0.isWhitespace })!)
}

/// (float32 bits, expected F16 bits, expected BF16 bits), computed with
/// `np.float32(...).astype(np.float16)` and `torch.tensor(..., dtype=torch.float32).to(torch.bfloat16)`.
private let knownConversions: [(UInt32, UInt16, UInt16)] = [
    (0x0000_0000, 0x0000, 0x0000),  // 0.0
    (0x8000_0000, 0x8000, 0x8000),  // -0.0
    (0x3F80_0000, 0x3C00, 0x3F80),  // 1.0
    (0xC000_0000, 0xC000, 0xC000),  // -2.0
    (0x477F_E000, 0x7BFF, 0x4780),  // 65504 (F16 max)
    (0x477F_EFFF, 0x7BFF, 0x4780),  // 65519.996 (just below the F16 overflow tie)
    (0x477F_F000, 0x7C00, 0x4780),  // 65520 -> F16 inf (tie rounds to even = inf)
    (0x4780_0000, 0x7C00, 0x4780),  // 65536
    (0x7F7F_FFFF, 0x7C00, 0x7F80),  // Float.greatestFiniteMagnitude -> inf in both
    (0x7F80_0000, 0x7C00, 0x7F80),  // inf
    (0xFF80_0000, 0xFC00, 0xFF80),  // -inf
    (0x3380_0000, 0x0001, 0x3380),  // 2^-24, smallest F16 subnormal
    (0x3300_0000, 0x0000, 0x3300),  // 2^-25: tie between 0 and 1 -> 0 (even)
    (0x3300_0001, 0x0001, 0x3300),  // just above 2^-25 -> 1
    (0x33C0_0000, 0x0002, 0x33C0),  // 1.5 * 2^-24: tie -> 2 (even)
    (0x3420_0000, 0x0002, 0x3420),  // 2.5 * 2^-24: tie -> 2 (even)
    (0x3880_0000, 0x0400, 0x3880),  // 2^-14, smallest F16 normal
    (0x387F_C000, 0x03FF, 0x3880),  // largest F16 subnormal
    (0x387F_E000, 0x0400, 0x3880),  // 1023.5 * 2^-24: tie -> 1024 = smallest normal
    (0x387F_F000, 0x0400, 0x3880),
    (0x3F80_1000, 0x3C00, 0x3F80),  // 1 + 2^-11: F16 tie -> 1.0 (even)
    (0x3F80_3000, 0x3C02, 0x3F80),  // 1 + 3 * 2^-11: F16 tie -> 0x3C02 (even)
    (0x3F80_1001, 0x3C01, 0x3F80),  // just above the tie -> up
    (0x0000_0001, 0x0000, 0x0000),  // smallest Float subnormal
    (0x8000_0001, 0x8000, 0x8000),
    (0x3DCC_CCCD, 0x2E66, 0x3DCD),  // 0.1
    (0x3EAA_7EFA, 0x3554, 0x3EAA),  // 0.333
    (0x4049_0FDB, 0x4248, 0x4049),  // pi
    (0xB8D1_B717, 0x868E, 0xB8D2),  // -1e-4 (F16 subnormal)
    (0xC77F_E000, 0xFBFF, 0xC780),  // -65504
    (0x3F80_8000, 0x3C04, 0x3F80),  // BF16 tie -> 0x3F80 (even)
    (0x3F81_8000, 0x3C0C, 0x3F82),  // BF16 tie -> 0x3F82 (even)
    (0x3F80_8001, 0x3C04, 0x3F81),  // just above the BF16 tie -> up
    (0x7F7F_7FFF, 0x7C00, 0x7F7F),  // largest value that stays finite in BF16
    (0x0000_8000, 0x0000, 0x0000),  // BF16 subnormal tie -> 0
    (0x0001_8000, 0x0000, 0x0002),  // BF16 subnormal tie -> 2
    (0x0001_0000, 0x0000, 0x0001),
    (0x3F7F_FFFF, 0x3C00, 0x3F80),  // 0.99999994 rounds up to 1.0
]

final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    // MARK: Helpers

    private func tempPath(_ name: String = "t") -> String {
        directory.appendingPathComponent("\(name)-\(UUID().uuidString).safetensors").path
    }

    private func writeBytes(_ bytes: [UInt8], name: String = "t") throws -> String {
        let path = tempPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// 8-byte length + header + data; `declaredLength` overrides the prefix.
    private func rawFile(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    /// Opens `bytes` as a file and asserts a SafeTensorsError that names the file, the
    /// given tensor (or none), and contains every string in `mentions`.
    private func assertRejects(
        _ bytes: [UInt8], tensor: String?, mentions: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = try writeBytes(bytes, name: "corrupt")
        do {
            let f = try SafeTensorsFile(path: path)
            XCTFail("opened a corrupt file with \(f.tensors.count) tensors", file: file, line: line)
        } catch let e as SafeTensorsError {
            XCTAssertEqual(e.path, path, file: file, line: line)
            XCTAssertEqual(e.tensor, tensor, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(path), "\(e)", file: file, line: line)
            if let tensor {
                XCTAssertTrue(e.description.contains("'\(tensor)'"), "\(e)", file: file, line: line)
            }
            for m in mentions {
                XCTAssertTrue(e.description.contains(m), "expected '\(m)' in: \(e)", file: file, line: line)
            }
        }
    }

    private func assertWriterRejects(
        tensor: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.tensor, tensor, file: file, line: line)
            XCTAssertTrue(e.description.contains("'\(tensor)'"), "\(e)", file: file, line: line)
            for m in mentions {
                XCTAssertTrue(e.description.contains(m), "expected '\(m)' in: \(e)", file: file, line: line)
            }
        }
    }

    /// A valid two-tensor file: "a" F32 [2] at [0, 8], "b" F32 [1] at [8, 12].
    private let validHeader = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    private let twelveBytes = [UInt8](repeating: 0, count: 12)

    // MARK: Half precision

    func testKnownConversionBitPatterns() {
        for (bits, f16, bf16) in knownConversions {
            let f = Float(bitPattern: bits)
            XCTAssertEqual(HalfPrecision.f16Bits(from: f), f16, "F16 of \(f) (0x\(String(bits, radix: 16)))")
            XCTAssertEqual(HalfPrecision.bf16Bits(from: f), bf16, "BF16 of \(f) (0x\(String(bits, radix: 16)))")
        }
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x3C00), 1.0)
        XCTAssertEqual(HalfPrecision.float(fromBF16Bits: 0x3F80), 1.0)
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x7BFF), 65504)
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x0001), Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x03FF), Float(1023) * Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x8001), -Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x7C00), .infinity)
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0xFC00), -.infinity)
        XCTAssertEqual(HalfPrecision.float(fromF16Bits: 0x8000).bitPattern, 0x8000_0000)
        XCTAssertEqual(HalfPrecision.float(fromBF16Bits: 0x0001).bitPattern, 0x0001_0000)  // BF16 subnormal
        XCTAssertEqual(HalfPrecision.float(fromBF16Bits: 0xFF80), -.infinity)
    }

    func testNaNStaysNaN() {
        for bits: UInt32 in [0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0x7FA0_0000, 0xFF80_2000, 0x7FFF_FFFF] {
            let f = Float(bitPattern: bits)
            let h = HalfPrecision.f16Bits(from: f)
            XCTAssertEqual(h & 0x7C00, 0x7C00)
            XCTAssertNotEqual(h & 0x03FF, 0, "NaN must not become infinity")
            XCTAssertEqual(h & 0x8000, UInt16(bits >> 16) & 0x8000, "sign kept")
            XCTAssertTrue(HalfPrecision.float(fromF16Bits: h).isNaN)
            let b = HalfPrecision.bf16Bits(from: f)
            XCTAssertTrue(HalfPrecision.float(fromBF16Bits: b).isNaN, "BF16 NaN for 0x\(String(bits, radix: 16))")
            XCTAssertEqual(b & 0x8000, UInt16(bits >> 16) & 0x8000)
        }
        XCTAssertEqual(HalfPrecision.f16Bits(from: .nan), 0x7E00)
        XCTAssertEqual(HalfPrecision.bf16Bits(from: .nan), 0x7FC0)
    }

    /// Every F16 pattern widens exactly (checked against arithmetic) and narrows back to itself.
    func testF16AllPatternsRoundTrip() {
        let ulp = Float(sign: .plus, exponent: -24, significand: 1)
        for raw in 0...UInt16.max {
            let f = HalfPrecision.float(fromF16Bits: raw)
            let exponent = Int((raw >> 10) & 0x1F), mantissa = Float(raw & 0x3FF)
            let sign: Float = raw & 0x8000 != 0 ? -1 : 1
            if exponent == 0x1F {
                XCTAssertEqual(f.isNaN, raw & 0x3FF != 0)
                if !f.isNaN { XCTAssertEqual(f, sign * .infinity) }
                continue
            }
            let expected =
                exponent == 0
                ? sign * mantissa * ulp
                : sign * (1024 + mantissa) * Float(sign: .plus, exponent: exponent - 25, significand: 1)
            XCTAssertEqual(f, expected, "0x\(String(raw, radix: 16))")
            XCTAssertEqual(HalfPrecision.f16Bits(from: f), raw, "0x\(String(raw, radix: 16))")
        }
    }

    func testBF16AllPatternsRoundTrip() {
        for raw in 0...UInt16.max {
            let f = HalfPrecision.float(fromBF16Bits: raw)
            if f.isNaN { continue }
            XCTAssertEqual(HalfPrecision.bf16Bits(from: f), raw)
        }
    }

    /// Narrowing picks the nearest representable value, ties to the even pattern.
    func testNarrowingIsRoundToNearestEven() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Finite floats spanning the F16 range (including subnormals) and beyond.
            let f = Float(
                sign: Bool.random(using: &rng) ? .minus : .plus,
                exponent: Int.random(in: -27...17, using: &rng),
                significand: Float.random(in: 1..<2, using: &rng))
            for (narrow, widen) in [
                (HalfPrecision.f16Bits(from:), HalfPrecision.float(fromF16Bits:)),
                (HalfPrecision.bf16Bits(from:), HalfPrecision.float(fromBF16Bits:)),
            ] {
                let h = narrow(f)
                let value = widen(h)
                if value.isInfinite { continue }  // overflow is covered by the known patterns
                let mag = h & 0x7FFF
                let error = abs(Double(value) - Double(f))
                for neighbour in [mag &- 1, mag &+ 1] where neighbour <= 0x7FFF {
                    let n = widen((h & 0x8000) | neighbour)
                    if n.isNaN || n.isInfinite { continue }
                    let e = abs(Double(n) - Double(f))
                    XCTAssertLessThanOrEqual(error, e, "\(f) -> 0x\(String(h, radix: 16))")
                    if e == error { XCTAssertEqual(h & 1, 0, "tie must go to even for \(f)") }
                }
            }
        }
    }

    // MARK: Round trips

    func testRoundTripEveryDType() throws {
        let special: [Float] = [1.0, -2.5, 0.1, 65504, 65520, 1e-7, 6e-8, 3e-8, tinySubnormal, .infinity, -.infinity, .nan, -0.0]
        var w = SafeTensorsWriter()
        try w.add("f32", shape: [13], floats: special)
        try w.add("f16", shape: [13], floats: special, as: .F16)
        try w.add("bf16", shape: [13], floats: special, as: .BF16)
        try w.add("f64", shape: [13], floats: special, as: .F64)
        try w.add("i64", shape: [2, 2], int64s: [.min, -1, 0, .max])
        try w.add("i32", shape: [3], rawBytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x80, 0x07, 0, 0, 0], dtype: .I32)
        try w.add("i16", shape: [2], rawBytes: [0x00, 0x80, 0xFF, 0x7F], dtype: .I16)
        try w.add("i8", shape: [3], rawBytes: [0x80, 0xFF, 0x7F], dtype: .I8)
        try w.add("u8", shape: [3], rawBytes: [0x80, 0xFF, 0x00], dtype: .U8)
        try w.add("bool", shape: [3], rawBytes: [1, 0, 1], dtype: .BOOL)
        let path = tempPath()
        try w.write(toPath: path)
        let f = try SafeTensorsFile(path: path)

        XCTAssertEqual(f.tensors.map(\.name), ["i64", "f64", "f32", "i32", "bf16", "f16", "i16", "i8", "u8", "bool"])
        func same(_ a: [Float], _ b: [Float], _ label: String) {
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) {
                XCTAssertTrue(x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN), "\(label): \(x) vs \(y)")
            }
        }
        same(try f.floats("f32"), special, "F32")
        same(try f.floats("f64"), special, "F64")
        same(try f.floats("f16"), special.map { HalfPrecision.float(fromF16Bits: HalfPrecision.f16Bits(from: $0)) }, "F16")
        same(try f.floats("bf16"), special.map { HalfPrecision.float(fromBF16Bits: HalfPrecision.bf16Bits(from: $0)) }, "BF16")
        let f16 = try f.floats("f16")
        XCTAssertEqual(f16[0], 1.0)
        XCTAssertEqual(f16[3], 65504)
        XCTAssertEqual(f16[4], .infinity)  // 65520 overflows
        XCTAssertEqual(f16[6], Float(sign: .plus, exponent: -24, significand: 1))  // 6e-8 -> smallest subnormal
        XCTAssertEqual(f16[8], 0)  // 1e-40 underflows
        XCTAssertTrue(f16[11].isNaN)
        XCTAssertEqual(f16[12].bitPattern, 0x8000_0000)
        let bf16 = try f.floats("bf16")
        XCTAssertEqual(bf16[4], 65536)  // 65520 rounds to 65536 in BF16
        XCTAssertEqual(bf16[8].bitPattern, HalfPrecision.float(fromBF16Bits: HalfPrecision.bf16Bits(from: tinySubnormal)).bitPattern)
        XCTAssertNotEqual(bf16[8], 0)  // BF16 keeps Float's subnormal range

        XCTAssertEqual(try f.int64s("i64"), [.min, -1, 0, .max])
        XCTAssertEqual(try f.int64s("i32"), [-1, Int64(Int32.min), 7])
        XCTAssertEqual(try f.int64s("i16"), [Int64(Int16.min), Int64(Int16.max)])
        XCTAssertEqual(try f.int64s("i8"), [-128, -1, 127])
        XCTAssertEqual(try f.int64s("u8"), [128, 255, 0])
        XCTAssertEqual(try f.int64s("bool"), [1, 0, 1])

        XCTAssertEqual(f.info("i64")?.shape, [2, 2])
        XCTAssertEqual(f.info("i64")?.dtype, .I64)
        XCTAssertEqual(f.info("i64")?.byteRange, 0..<32)
        XCTAssertEqual(f.info("f16")?.byteRange.count, 26)
        XCTAssertNil(f.info("nope"))

        // The buffer-pointer variant and copyFloats.
        var w2 = SafeTensorsWriter()
        let values: [Float] = (0..<6).map { Float($0) * 0.25 }
        try values.withUnsafeBufferPointer { try w2.add("m", shape: [2, 3], floats: $0, as: .BF16) }
        let p2 = tempPath()
        try w2.write(toPath: p2)
        let f2 = try SafeTensorsFile(path: p2)
        var out = [Float](repeating: -1, count: 6)
        try out.withUnsafeMutableBufferPointer { try f2.copyFloats("m", into: $0) }
        XCTAssertEqual(out, values)
        XCTAssertEqual(try f2.floats("m", shape: [2, 3]), values)
        XCTAssertThrowsError(try f2.floats("m", shape: [3, 2]))
    }

    func testScalarAndZeroElementTensors() throws {
        var w = SafeTensorsWriter()
        try w.add("scalar", shape: [], floats: [42])
        try w.add("zero", shape: [0], floats: [])
        try w.add("zero2", shape: [2, 0], floats: [], as: .F16)
        try w.add("ids0", shape: [0, 5], int64s: [])
        let path = tempPath()
        try w.write(toPath: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f.info("scalar")?.shape, [])
        XCTAssertEqual(f.info("scalar")?.elementCount, 1)
        XCTAssertEqual(try f.floats("scalar"), [42])
        XCTAssertEqual(try f.floats("zero"), [])
        XCTAssertEqual(try f.floats("zero2"), [])
        XCTAssertEqual(f.info("zero2")?.elementCount, 0)
        XCTAssertEqual(try f.int64s("ids0"), [])
        var empty: [Float] = []
        try empty.withUnsafeMutableBufferPointer { try f.copyFloats("zero", into: $0) }
        XCTAssertEqual(f.parameterCount, 1)
    }

    func testEmptyWriterMatchesReference() throws {
        // Python: safetensors.numpy.save({}) == b'\x08\0\0\0\0\0\0\0{}      '
        let bytes = SafeTensorsWriter().serialized()
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let f = try SafeTensorsFile(path: try writeBytes(bytes))
        XCTAssertTrue(f.tensors.isEmpty)
        XCTAssertTrue(f.metadata.isEmpty)
    }

    func testMetadataRoundTrip() throws {
        let meta = ["format": "pt", "note": "quote \" backslash \\ slash / newline \n tab \t ctrl \u{1} é 日本 🎉", "": "empty key", "z": ""]
        var w = SafeTensorsWriter(metadata: meta)
        try w.add("x", shape: [1], floats: [1])
        let path = tempPath()
        try w.write(toPath: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f.metadata, meta)
        // Metadata without tensors, and a file without metadata.
        let p2 = tempPath()
        try SafeTensorsWriter(metadata: ["k": "v"]).write(toPath: p2)
        XCTAssertEqual(try SafeTensorsFile(path: p2).metadata, ["k": "v"])
        let p3 = tempPath()
        try SafeTensorsWriter().write(toPath: p3)
        XCTAssertEqual(try SafeTensorsFile(path: p3).metadata, [:])
        // The reader accepts escapes the writer never produces.
        let header = #"{"__metadata__":{"a\u00e9\ud83c\udf89":"\/\b\f\r"},"t\u0041":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
        let f4 = try SafeTensorsFile(path: try writeBytes(rawFile(header: header, data: [0, 0, 128, 63])))
        XCTAssertEqual(f4.metadata, ["aé🎉": "/\u{8}\u{c}\r"])
        XCTAssertEqual(try f4.floats("tA"), [1])
    }

    // MARK: Reference library compatibility

    func testWriterOutputIsByteIdenticalToReferenceLibrary() throws {
        var w = SafeTensorsWriter(metadata: ["format": "pt"])
        // Added in a different order from the file's layout on purpose.
        try w.add("mask", shape: [3], rawBytes: [1, 0, 1], dtype: .BOOL)
        try w.add("weight", shape: [2, 3], floats: [1.0, -2.5, 3.25, 0.1, 65504.0, -0.0])
        try w.add("half", shape: [6], floats: [1.0, 0.333, 65519.0, 6e-8, -3.0e-5, 1e6], as: .F16)
        try w.add("brain", shape: [5], floats: [1.0, 3.14159, -tinySubnormal, 3e38, .infinity], as: .BF16)
        try w.add("scalar", shape: [], floats: [7.0])
        try w.add("empty", shape: [2, 0], floats: [])
        try w.add("enc.\u{e9}/\"q\"", shape: [1], floats: [0.5])
        try w.add("double", shape: [2], floats: [0.5, -1.25], as: .F64)
        try w.add("ids", shape: [1, 4], int64s: [0, 1, -2, 9_007_199_254_740_993])
        try w.add("i32", shape: [2], rawBytes: [0xF9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], dtype: .I32)
        try w.add("i16", shape: [2], rawBytes: [0x00, 0x80, 0x05, 0x00], dtype: .I16)
        try w.add("i8", shape: [2], rawBytes: [0x80, 0x7F], dtype: .I8)
        try w.add("u8", shape: [2], rawBytes: [0x00, 0xFF], dtype: .U8)
        let reference = decodeBase64(referenceAllDTypesBase64)
        let mine = w.serialized()
        XCTAssertEqual(mine.count, reference.count)
        XCTAssertEqual(mine, reference, "first difference at byte \(zip(mine, reference).enumerated().first { $0.1.0 != $0.1.1 }?.offset ?? -1)")

        // write(toPath:) produces the same bytes.
        let path = tempPath()
        try w.write(toPath: path)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), reference)

        var padded = SafeTensorsWriter()
        try padded.add("b", shape: [1], floats: [1.5], as: .F16)
        try padded.add("a", shape: [1], floats: [-2.0], as: .BF16)
        XCTAssertEqual(padded.serialized(), decodeBase64(referencePaddedBase64))
    }

    func testReaderReadsReferenceLibraryFile() throws {
        let f = try SafeTensorsFile(path: try writeBytes(decodeBase64(referenceAllDTypesBase64)))
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.tensors.count, 13)
        XCTAssertEqual(f.tensors.first?.name, "ids")
        XCTAssertEqual(f.headerLength, 808)
        XCTAssertEqual(try f.floats("weight"), [1.0, -2.5, 3.25, 0.1, 65504.0, -0.0])
        XCTAssertEqual(try f.floats("scalar"), [7])
        XCTAssertEqual(try f.floats("enc.\u{e9}/\"q\""), [0.5])
        XCTAssertEqual(try f.floats("double"), [0.5, -1.25])
        XCTAssertEqual(try f.floats("half").map { HalfPrecision.f16Bits(from: $0) }, [0x3C00, 0x3554, 0x7BFF, 0x0001, 0x81F7, 0x7C00])
        XCTAssertEqual(try f.floats("brain").map { HalfPrecision.bf16Bits(from: $0) }, [0x3F80, 0x4049, 0x8001, 0x7F62, 0x7F80])
        XCTAssertEqual(try f.int64s("ids"), [0, 1, -2, 9_007_199_254_740_993])
        XCTAssertEqual(try f.int64s("i32"), [-7, 2_147_483_647])
        XCTAssertEqual(try f.int64s("i16"), [-32768, 5])
        XCTAssertEqual(try f.int64s("i8"), [-128, 127])
        XCTAssertEqual(try f.int64s("u8"), [0, 255])
        XCTAssertEqual(try f.int64s("mask"), [1, 0, 1])
        XCTAssertEqual(f.info("empty")?.shape, [2, 0])
        XCTAssertEqual(f.parameterCount, 4 + 2 + 0 + 1 + 1 + 6 + 2 + 5 + 6 + 2 + 2 + 2 + 3)

        let g = try SafeTensorsFile(path: try writeBytes(decodeBase64(referencePaddedBase64)))
        XCTAssertEqual(g.headerLength, 112)
        XCTAssertEqual(try g.floats("a"), [-2])
        XCTAssertEqual(try g.floats("b"), [1.5])
    }

    // MARK: Reader API errors

    func testReadingWithTheWrongAccessorNamesFileAndTensor() throws {
        var w = SafeTensorsWriter()
        try w.add("ids", shape: [2], int64s: [1, 2])
        try w.add("w", shape: [2, 2], floats: [1, 2, 3, 4])
        let path = tempPath()
        try w.write(toPath: path)
        let f = try SafeTensorsFile(path: path)
        func check(_ tensor: String, _ mentions: [String], _ body: () throws -> Void) {
            XCTAssertThrowsError(try body()) { error in
                let e = error as! SafeTensorsError
                XCTAssertEqual(e.path, path)
                XCTAssertEqual(e.tensor, tensor)
                XCTAssertTrue(e.description.contains(path) && e.description.contains("'\(tensor)'"), "\(e)")
                for m in mentions { XCTAssertTrue(e.description.contains(m), "expected '\(m)' in \(e)") }
            }
        }
        check("ids", ["I64", "Float"]) { _ = try f.floats("ids") }
        check("w", ["F32"]) { _ = try f.int64s("w") }
        check("missing", ["no such tensor"]) { _ = try f.floats("missing") }
        check("missing", ["no such tensor"]) { _ = try f.int64s("missing") }
        var small = [Float](repeating: 0, count: 3)
        check("w", ["3", "4"]) { try small.withUnsafeMutableBufferPointer { try f.copyFloats("w", into: $0) } }
        var ints = [Float](repeating: 0, count: 2)
        check("ids", ["I64"]) { try ints.withUnsafeMutableBufferPointer { try f.copyFloats("ids", into: $0) } }
    }

    // MARK: Corrupt files

    func testValidHandBuiltFileOpens() throws {
        // Sanity check for the corruption tests below, which all start from this shape.
        let f = try SafeTensorsFile(path: try writeBytes(rawFile(header: validHeader, data: twelveBytes)))
        XCTAssertEqual(f.tensors.map(\.name), ["a", "b"])
        // Trailing spaces, whitespace between tokens, unknown fields and key order are fine.
        let loose =
            "{ \"b\" : {\"data_offsets\":[8,12], \"shape\":[1],\"dtype\":\"F32\", \"extra\": {\"x\": [1, 2.5e3, null, true]}},\n\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   "
        let g = try SafeTensorsFile(path: try writeBytes(rawFile(header: loose, data: twelveBytes)))
        XCTAssertEqual(g.tensors.map(\.name), ["a", "b"])
    }

    func testFileShorterThanEightBytes() throws {
        try assertRejects([], tensor: nil, mentions: ["0 bytes", "shorter than the 8-byte"])
        try assertRejects([1, 2, 3, 4, 5], tensor: nil, mentions: ["5 bytes", "shorter than the 8-byte"])
    }

    func testTruncatedFile() throws {
        let full = rawFile(header: validHeader, data: twelveBytes)
        let expectedSize = full.count
        try assertRejects(
            Array(full.dropLast()), tensor: "b",
            mentions: ["truncated", "at least \(expectedSize) bytes", "has \(expectedSize - 1) bytes"])
        // Cut in the middle of the first tensor: the first tensor that does not fit is named.
        try assertRejects(
            Array(full.dropLast(10)), tensor: "a",
            mentions: ["truncated", "at least \(expectedSize) bytes", "has \(expectedSize - 10) bytes"])
        // Cut right after the header: no data at all.
        try assertRejects(Array(full.dropLast(12)), tensor: "a", mentions: ["truncated"])
        // Cut inside the header: the declared length no longer fits.
        try assertRejects(Array(full.prefix(40)), tensor: nil, mentions: ["header length \(validHeader.utf8.count) exceeds", "40 bytes"])

        // A real writer file truncated by one byte.
        var w = SafeTensorsWriter(metadata: ["k": "v"])
        try w.add("emb", shape: [4, 3], floats: (0..<12).map(Float.init))
        try w.add("pos", shape: [1, 4], int64s: [0, 1, 2, 3])
        let bytes = w.serialized()
        try assertRejects(
            Array(bytes.dropLast()), tensor: "emb",
            mentions: ["truncated", "at least \(bytes.count) bytes", "has \(bytes.count - 1) bytes"])
    }

    func testOffsetsBeyondInt32AreHandled() throws {
        // 5e9 > Int32.max: parsed exactly, and reported as a truncation with the exact size.
        let header = #"{"big":{"dtype":"U8","shape":[5000000000],"data_offsets":[0,5000000000]}}"#
        let expected = 8 + header.utf8.count + 5_000_000_000
        try assertRejects(rawFile(header: header, data: [0]), tensor: "big", mentions: ["truncated", "at least \(expected) bytes"])
        // Beyond Int64: out of range, not a crash.
        let huge = #"{"big":{"dtype":"U8","shape":[1],"data_offsets":[0,99999999999999999999999]}}"#
        try assertRejects(rawFile(header: huge, data: [0]), tensor: "big", mentions: ["out of range"])
        let hugeShape = #"{"big":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#
        try assertRejects(rawFile(header: hugeShape, data: [0]), tensor: "big", mentions: ["too many elements"])
    }

    func testCorruptHeaderLength() throws {
        let data = twelveBytes
        let n = UInt64(validHeader.utf8.count)
        // Larger than the file.
        try assertRejects(
            rawFile(header: validHeader, data: data, declaredLength: n + 100), tensor: nil,
            mentions: ["header length \(n + 100) exceeds"])
        // Absurd (> 100 MB).
        try assertRejects(
            rawFile(header: validHeader, data: data, declaredLength: 200_000_000), tensor: nil,
            mentions: ["header length 200000000", "absurd"])
        try assertRejects(
            rawFile(header: validHeader, data: data, declaredLength: .max), tensor: nil,
            mentions: ["absurd"])
        // Smaller: the header loses its closing brace.
        try assertRejects(
            rawFile(header: validHeader, data: data, declaredLength: n - 1), tensor: nil,
            mentions: ["not valid JSON"])
        // Larger but inside the file: data bytes become part of the "header".
        try assertRejects(
            rawFile(header: validHeader, data: data, declaredLength: n + 4), tensor: nil,
            mentions: ["not valid JSON"])
        try assertRejects(rawFile(header: "{}", declaredLength: 0), tensor: nil, mentions: ["too small"])
    }

    func testHeaderNotUTF8JSONOrObject() throws {
        var bytes = rawFile(header: validHeader, data: twelveBytes)
        bytes[8 + 2] = 0xFF  // inside the first key
        try assertRejects(bytes, tensor: nil, mentions: ["not valid UTF-8"])
        try assertRejects(rawFile(header: #"{"a":{"dtype":"F32",}}"#), tensor: nil, mentions: ["not valid JSON"])
        try assertRejects(rawFile(header: #"{"a":1} x"#), tensor: nil, mentions: ["not valid JSON"])
        try assertRejects(rawFile(header: "{\"a\":\"\u{1}\"}"), tensor: nil, mentions: ["not valid JSON", "control character"])
        try assertRejects(rawFile(header: #"{"a\ud800":1}"#), tensor: nil, mentions: ["not valid JSON", "surrogate"])
        try assertRejects(rawFile(header: #"[1, 2]"#), tensor: nil, mentions: ["not a JSON object", "array"])
        try assertRejects(rawFile(header: #""str""#), tensor: nil, mentions: ["not a JSON object"])
        try assertRejects(
            rawFile(header: String(repeating: "[", count: 500) + String(repeating: "]", count: 500)),
            tensor: nil, mentions: ["not valid JSON", "nesting"])
    }

    func testMissingAndMistypedFields() throws {
        try assertRejects(
            rawFile(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["missing field 'dtype'"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["missing field 'shape'"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["missing field 'data_offsets'"])
        try assertRejects(rawFile(header: #"{"w":[1,2]}"#), tensor: "w", mentions: ["must be a JSON object"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["'dtype' must be a string", "number"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["'shape' must be an array"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["shape[0] must be a non-negative integer", "1.5"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["shape[0] must be a non-negative integer"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["'data_offsets' must be an array of two"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["data_offsets end must be a non-negative integer"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["'dtype' appears more than once"])
        try assertRejects(rawFile(header: #"{"__metadata__":{"k":1}}"#), tensor: nil, mentions: ["__metadata__", "'k'", "strings"])
        try assertRejects(rawFile(header: #"{"__metadata__":[]}"#), tensor: nil, mentions: ["__metadata__ must be a JSON object"])
    }

    func testUnknownDType() throws {
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["unknown or unsupported dtype 'Q4'", "F32"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["dtype 'f32'"])
    }

    func testNegativeDimensionAndReversedOffsets() throws {
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["shape[1] is -1", "non-negative"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["data_offsets begin is -4"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["[4, 0]", "begin is greater than end"])
    }

    func testSizeDoesNotMatchShape() throws {
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#, data: [UInt8](repeating: 0, count: 20)),
            tensor: "w", mentions: ["span 20 bytes", "[2, 3]", "F32", "needs 24 bytes"])
        try assertRejects(
            rawFile(header: #"{"w":{"dtype":"BF16","shape":[],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            tensor: "w", mentions: ["span 4 bytes", "needs 2 bytes"])
    }

    func testOverlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        try assertRejects(rawFile(header: header, data: twelveBytes), tensor: "b", mentions: ["overlap", "'a'", "[0, 8]", "[4, 12]"])
        // Two tensors on exactly the same bytes.
        let same = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
        try assertRejects(rawFile(header: same, data: [0, 0, 0, 0]), tensor: "y", mentions: ["overlap", "'x'"])
    }

    func testGapsAndUncoveredBytesAreRejectedLikeTheReference() throws {
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        try assertRejects(
            rawFile(header: gap, data: twelveBytes), tensor: "b",
            mentions: ["contiguous and cover the whole buffer", "gap of 4", "'a'"])
        let leading = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try assertRejects(
            rawFile(header: leading, data: [UInt8](repeating: 0, count: 8)), tensor: "a",
            mentions: ["gap of 4", "start of the data buffer"])
        try assertRejects(
            rawFile(header: validHeader, data: twelveBytes + [0, 0]), tensor: nil,
            mentions: ["contiguous and cover the whole buffer", "'b'", "2 trailing bytes"])
        try assertRejects(rawFile(header: "{}", data: [0]), tensor: nil, mentions: ["no tensors", "1 trailing bytes"])
    }

    func testDuplicateNames() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try assertRejects(rawFile(header: header, data: [UInt8](repeating: 0, count: 8)), tensor: "a", mentions: ["duplicate tensor name"])
        // Same name spelled with an escape.
        let escaped = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try assertRejects(rawFile(header: escaped, data: [UInt8](repeating: 0, count: 8)), tensor: "a", mentions: ["duplicate"])
        try assertRejects(rawFile(header: #"{"__metadata__":{},"__metadata__":{}}"#), tensor: nil, mentions: ["more than one \"__metadata__\""])
        try assertRejects(rawFile(header: #"{"__metadata__":{"k":"1","k":"2"}}"#), tensor: nil, mentions: ["duplicate key 'k'"])
    }

    func testMissingFileAndDirectory() throws {
        let missing = directory.appendingPathComponent("does-not-exist.safetensors").path
        XCTAssertThrowsError(try SafeTensorsFile(path: missing)) { error in
            let e = error as! SafeTensorsError
            XCTAssertEqual(e.path, missing)
            XCTAssertTrue(e.description.contains(missing) && e.description.contains("cannot open"), "\(e)")
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    // MARK: Writer validation and atomic write

    func testWriterRejectsBadInput() throws {
        var w = SafeTensorsWriter()
        try w.add("x", shape: [2], floats: [1, 2])
        assertWriterRejects(tensor: "y", mentions: ["[2, 3]", "6 elements", "5 values"]) {
            try w.add("y", shape: [2, 3], floats: [1, 2, 3, 4, 5])
        }
        assertWriterRejects(tensor: "y", mentions: ["1 elements", "0 values"]) { try w.add("y", shape: [], floats: []) }
        assertWriterRejects(tensor: "x", mentions: ["duplicate"]) { try w.add("x", shape: [1], floats: [1]) }
        assertWriterRejects(tensor: "x", mentions: ["duplicate"]) { try w.add("x", shape: [1], int64s: [1]) }
        assertWriterRejects(tensor: "", mentions: ["must not be empty"]) { try w.add("", shape: [1], floats: [1]) }
        assertWriterRejects(tensor: "__metadata__", mentions: ["reserved"]) { try w.add("__metadata__", shape: [1], floats: [1]) }
        assertWriterRejects(tensor: "n", mentions: ["negative"]) { try w.add("n", shape: [-1], floats: []) }
        assertWriterRejects(tensor: "i", mentions: ["I32"]) { try w.add("i", shape: [1], floats: [1], as: .I32) }
        assertWriterRejects(tensor: "ids", mentions: ["2 elements", "3 values"]) { try w.add("ids", shape: [2], int64s: [1, 2, 3]) }
        assertWriterRejects(tensor: "r", mentions: ["3 bytes"]) { try w.add("r", shape: [1], rawBytes: [1, 2, 3], dtype: .I32) }
        assertWriterRejects(tensor: "big", mentions: ["too many elements"]) {
            try w.add("big", shape: [Int.max, 2], rawBytes: [], dtype: .U8)
        }
        // Failed adds leave the writer unchanged.
        XCTAssertEqual(w.tensorNames, ["x"])
        let f = try SafeTensorsFile(path: try writeBytes(w.serialized()))
        XCTAssertEqual(f.tensors.map(\.name), ["x"])
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let path = tempPath("atomic")
        var w1 = SafeTensorsWriter()
        try w1.add("v", shape: [1], floats: [1])
        try w1.write(toPath: path)
        var w2 = SafeTensorsWriter()
        try w2.add("v", shape: [2], floats: [2, 3])
        try w2.write(toPath: path)
        XCTAssertEqual(try SafeTensorsFile(path: path).floats("v"), [2, 3])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])

        // Relative path in the current directory.
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        try w2.write(toPath: "relative.safetensors")
        XCTAssertEqual(try SafeTensorsFile(path: "relative.safetensors").floats("v"), [2, 3])

        // Unwritable destination: error names the path, nothing is left behind.
        let bad = directory.appendingPathComponent("no-such-dir/out.safetensors").path
        XCTAssertThrowsError(try w2.write(toPath: bad)) { error in
            let e = error as! SafeTensorsError
            XCTAssertEqual(e.path, bad)
            XCTAssertTrue(e.description.contains(bad), "\(e)")
        }
        // Renaming over a directory fails; the temporary file is removed.
        let dirTarget = directory.appendingPathComponent("a-directory").path
        try FileManager.default.createDirectory(atPath: dirTarget, withIntermediateDirectories: false)
        XCTAssertThrowsError(try w2.write(toPath: dirTarget))
        let leftovers2 = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers2, [])
    }

    func testErrorDescription() {
        let e = SafeTensorsError(path: "/m.safetensors", tensor: "w", reason: "bad")
        XCTAssertEqual(e.description, "safetensors file '/m.safetensors', tensor 'w': bad")
        XCTAssertEqual(SafeTensorsError(path: "/m.safetensors", reason: "bad").description, "safetensors file '/m.safetensors': bad")
        XCTAssertEqual(SafeTensorsError(path: "", tensor: "w", reason: "bad").description, "safetensors writer, tensor 'w': bad")
        XCTAssertEqual(e, SafeTensorsError(path: "/m.safetensors", tensor: "w", reason: "bad"))
    }
}

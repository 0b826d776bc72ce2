import FTCore
import Foundation
import XCTest

/// `fttrain diff-weights`' comparison: NumPy `allclose` semantics per element, and structural
/// differences (a missing tensor, another shape) always reported.
final class SafeTensorsComparisonTests: XCTestCase {
    private func write(_ tensors: [(String, [Int], [Float])]) throws -> SafeTensorsFile {
        var writer = SafeTensorsWriter()
        for (name, shape, values) in tensors { try writer.add(name, shape: shape, floats: values) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cmp-\(UUID().uuidString).safetensors").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        try writer.write(toPath: path)
        return try SafeTensorsFile(path: path)
    }

    func testToleranceIsAbsolutePlusRelative() throws {
        let reference = try write([("w", [3], [1, -2, 0]), ("b", [1], [100])])
        let candidate = try write([("w", [3], [1.001, -2, 1e-6]), ("b", [1], [100.05])])
        let exact = try SafeTensorsComparison(candidate, reference)
        XCTAssertFalse(exact.isWithinTolerance)
        XCTAssertEqual(exact.maxAbsoluteDifference, 0.05, accuracy: 1e-5)
        XCTAssertEqual(exact.entries.first { $0.name == "w" }?.mismatches, 2)
        // 0.001 ≤ 1e-6 + 1e-3·1 and 0.05 ≤ 1e-6 + 1e-3·100, and the 1e-6 at zero ≤ atol.
        XCTAssertTrue(try SafeTensorsComparison(candidate, reference, relativeTolerance: 1e-3, absoluteTolerance: 1.01e-6).isWithinTolerance)
        XCTAssertFalse(try SafeTensorsComparison(candidate, reference, relativeTolerance: 1e-3, absoluteTolerance: 0).isWithinTolerance)
        XCTAssertTrue(try SafeTensorsComparison(reference, reference).isWithinTolerance)
    }

    func testMissingTensorsShapesAndNaNAreDifferences() throws {
        let reference = try write([("w", [2], [1, 2]), ("only", [1], [0])])
        let reshaped = try write([("w", [1, 2], [1, 2]), ("only", [1], [0])])
        let missing = try write([("w", [2], [1, 2])])
        let nan = try write([("w", [2], [1, .nan]), ("only", [1], [0])])
        XCTAssertEqual(
            try SafeTensorsComparison(reshaped, reference, relativeTolerance: 1).entries.first { $0.name == "w" }?.problem,
            "shape [1, 2] vs [2]")
        let comparison = try SafeTensorsComparison(missing, reference, relativeTolerance: 1)
        XCTAssertFalse(comparison.isWithinTolerance)
        XCTAssertEqual(comparison.entries.first { $0.name == "only" }?.problem, "only in \(reference.path)")
        XCTAssertFalse(try SafeTensorsComparison(nan, reference, relativeTolerance: 1, absoluteTolerance: 1).isWithinTolerance)
    }
}

/// Safetensors bytes in memory (adapters sent as messages) are validated like files.
final class SafeTensorsBytesTests: XCTestCase {
    func testBytesRoundTripAndTruncationIsNamed() throws {
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        try writer.add("lora_A", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        try writer.add("head", shape: [2], floats: [-1, 0.5])
        let bytes = writer.serialized()
        let file = try SafeTensorsFile(bytes: bytes, name: "update from site 2")
        XCTAssertEqual(try file.floats("lora_A"), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try file.floats("head"), [-1, 0.5])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertThrowsError(try SafeTensorsFile(bytes: Array(bytes.dropLast(3)), name: "update from site 2")) {
            XCTAssertTrue("\($0)".contains("update from site 2") && "\($0)".contains("truncated"), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensorsFile(bytes: [1, 2], name: "tiny"))
    }
}

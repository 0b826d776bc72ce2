import FTCore
import Foundation
import TestSupport
import XCTest

/// The GGUF reader in the seeded fuzzer (see FuzzTests): gguf-py's fixture files mutated byte-wise,
/// and with interesting 32/64-bit values (0, 1, counts ± 1, 2^31, 2^62, 2^64 − 1, …) written over
/// random offsets of the header, metadata and tensor infos, where the lengths and counts live.
/// Every input must open and de-quantise, or fail with a GGUFError naming the file. Budget 3 s.
extension FuzzTests {
    func testFuzzGGUF() throws {
        let fixtures = TestAssets.packageRoot.appendingPathComponent("Tests/FTCoreTests/Fixtures/gguf")
        let seeds = try ["types.gguf", "writer_reference.gguf"].map { try Array(Data(contentsOf: fixtures.appendingPathComponent($0))) }
        // The structured region of each seed (everything before the data section).
        let headerEnds = try ["types.gguf", "writer_reference.gguf"].map { try GGUFFile(url: fixtures.appendingPathComponent($0)).dataOffset }
        var bytes = Mutator(
            seed: 101, seeds: seeds, dictionary: ["GGUF", "general.alignment", "\u{9}\0\0\0", "\u{8}\0\0\0", "\u{FF}\u{FF}\u{FF}\u{7F}"],
            text: false)
        var rng = SeededRNG(seed: 102)
        let interesting: [UInt64] = [
            0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 33, 63, 64, 255, 256, 1 << 31, 1 << 32, (1 << 32) - 1, 1 << 62, .max, .max - 1,
        ]
        let next: () -> [UInt8] = {
            if rng.next() % 2 == 0 { return bytes.next() }
            let s = Int(rng.next() % UInt64(seeds.count))
            var input = seeds[s]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let width = rng.next() % 2 == 0 ? 4 : 8
                let at = Int(rng.next() % UInt64(headerEnds[s] - width))
                var value = interesting[Int(rng.next() % UInt64(interesting.count))]
                if rng.next() % 4 == 0 {  // nudge the existing field instead
                    value =
                        (0..<width).reduce(UInt64(0)) { $0 | UInt64(input[at + $1]) << (8 * UInt64($1)) }
                        &+ UInt64(bitPattern: Int64(rng.next() % 5) - 2)
                }
                for k in 0..<width { input[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            }
            if rng.next() % 8 == 0 { input.removeLast(Int(rng.next() % UInt64(input.count))) }
            return input
        }
        let report = try Fuzz.run("gguf", cases: 5000, fileName: "model.gguf", budget: 3, next: next) { path, _ in
            let file = try GGUFFile(url: URL(fileURLWithPath: path))
            for info in file.tensors where info.type.isDequantizable {
                _ = try file.floats(info)
            }
            for key in file.metadataKeys {
                // Typed reads either succeed or throw an error naming the file.
                try Fuzz.alsoRun("GGUFFile typed metadata", names: [path]) {
                    switch file.metadata[key]! {
                    case .string: _ = try file.string(key)
                    case .array:
                        _ = try? file.stringArray(key)
                        _ = try file.floatArray(key)
                    default:
                        _ = try file.float(key)
                        _ = try file.int(key)
                    }
                }
            }
        }
        Fuzz.check(report)
    }
}

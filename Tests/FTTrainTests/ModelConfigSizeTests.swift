import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// `config.json` sizes that the weights cannot back must fail quickly, naming the key, when
/// `EncoderModel.load(modelDirectory:)` reads the directory: a size of 10^12 (which a loader that
/// allocates first would try to allocate, or loop over, before looking at the file) and a size that
/// merely disagrees with the safetensors shapes.
///
/// The 10^12 cases run in a child process (this test binary, filtered to `testLoadInChildProcess`,
/// with an address-space limit) so that a loader that traps or runs out of memory fails this test
/// rather than ending the whole test run — or exhausting the machine's memory.
final class ModelConfigSizeTests: XCTestCase {
    /// The keys whose size sets a tensor's shape (or their number).
    static let sizeKeys = ["intermediate_size", "vocab_size", "max_position_embeddings", "type_vocab_size", "num_hidden_layers"]

    func testHugeSizesFailQuicklyNamingTheKey() throws {
        #if !os(Linux)
            throw XCTSkip("runs the test binary as a child process, which is only located this way on Linux")
        #else
            for key in Self.sizeKeys {
                let directory = try modelDirectory(key: key, value: 1_000_000_000_000)
                let start = Date()
                let child = try runChild(directory: directory, timeout: 30)
                let elapsed = Date().timeIntervalSince(start)
                guard let child else {
                    XCTFail("\(key) = 10^12: EncoderModel.load did not finish within 30 s (killed)")
                    continue
                }
                guard child.exitedNormally else {
                    let fatal = child.output.split(separator: "\n").first { $0.contains("Fatal error") || $0.contains("Crash") } ?? "no message"
                    XCTFail("\(key) = 10^12: EncoderModel.load crashed (signal \(child.status)): \(fatal.prefix(300))")
                    continue
                }
                guard let line = child.output.split(separator: "\n").first(where: { $0.hasPrefix(Self.marker) }) else {
                    XCTFail("\(key) = 10^12: the child printed no result; output tail: \(child.output.suffix(600))")
                    continue
                }
                let result = line.dropFirst(Self.marker.count)
                XCTAssertTrue(result.hasPrefix("error: "), "\(key) = 10^12: EncoderModel.load succeeded")
                XCTAssertTrue(result.contains(key), "\(key) = 10^12: the error does not name the key: \(result)")
                XCTAssertTrue(result.contains("config.json"), "\(key) = 10^12: the error does not name config.json: \(result)")
                // Spawning the (debug) test binary takes about a second of this.
                XCTAssertLessThan(elapsed, 10, "\(key) = 10^12: took \(elapsed) s")
            }
        #endif
    }

    func testSizesDisagreeingWithTheWeightsFailNamingTheKey() throws {
        for key in Self.sizeKeys {
            let written = try baseConfig()[key] as! Int
            let directory = try modelDirectory(key: key, value: written + 1)
            let start = Date()
            XCTAssertThrowsError(try EncoderModel.load(modelDirectory: directory), "\(key) = \(written + 1)") { error in
                let message = String(describing: error)
                XCTAssertTrue(message.contains(key), "\(key) = \(written + 1) (weights have \(written)): the error does not name the key: \(message)")
                XCTAssertTrue(
                    message.contains("config.json") || message.contains("model.safetensors"),
                    "\(key): the error does not name the file: \(message)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, key)
        }
    }

    /// Not a test of its own: the child process of `testHugeSizesFailQuicklyNamingTheKey` (does
    /// nothing unless that test started it).
    func testLoadInChildProcess() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childVariable] else { return }
        #if canImport(Glibc)
            // 4 GB of address space: a loader that allocates 10^12 floats fails here, not on the machine.
            var limit = rlimit(rlim_cur: 4 << 30, rlim_max: 4 << 30)
            setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
        #endif
        let result: String
        do {
            _ = try EncoderModel.load(modelDirectory: URL(fileURLWithPath: path))
            result = "loaded"
        } catch {
            result = "error: " + String(describing: error).replacingOccurrences(of: "\n", with: " ")
        }
        // Unbuffered, so the line is out even if XCTest ends the process abruptly afterwards.
        FileHandle.standardOutput.write(Data(("\n" + Self.marker + result + "\n").utf8))
    }

    // MARK: - Helpers

    static let marker = "MODEL-CONFIG-SIZE-RESULT: "
    static let childVariable = "FTTRAIN_MODEL_CONFIG_SIZE_CHILD"

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-config-size-\(UUID().uuidString)")
        try TinyModelDirectory.write(
            to: scratch.appendingPathComponent("tiny"), words: ["hello", "world"],
            hiddenSize: 8, layers: 1, heads: 2)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func baseConfig() throws -> [String: Any] {
        let data = try Data(contentsOf: scratch.appendingPathComponent("tiny/config.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A copy of the tiny model whose config.json sets `key` to `value`.
    private func modelDirectory(key: String, value: Int) throws -> URL {
        // Not named after the key: the error message must name it, not the path.
        let directory = scratch.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["model.safetensors", "vocab.txt"] {
            try FileManager.default.copyItem(at: scratch.appendingPathComponent("tiny/" + name), to: directory.appendingPathComponent(name))
        }
        var config = try baseConfig()
        config[key] = value
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: directory.appendingPathComponent("config.json"))
        return directory
    }

    private struct Child {
        var exitedNormally: Bool
        var status: Int32
        var output: String
    }

    /// Runs `testLoadInChildProcess` in a new process of this test binary; nil when it had to be killed.
    private func runChild(directory: URL, timeout: Double) throws -> Child? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["FTTrainTests.ModelConfigSizeTests/testLoadInChildProcess"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childVariable] = directory.path
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash is expected today; its backtrace takes seconds
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let collected = OutputBox()
        let reader = DispatchGroup()
        reader.enter()
        DispatchQueue.global().async {
            collected.data = output.fileHandleForReading.readDataToEndOfFile()
            reader.leave()
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            reader.wait()
            return nil
        }
        process.waitUntilExit()
        reader.wait()
        return Child(
            exitedNormally: process.terminationReason == .exit, status: process.terminationStatus,
            output: String(decoding: collected.data, as: UTF8.self))
    }
}

private final class OutputBox: @unchecked Sendable {
    var data = Data()
}

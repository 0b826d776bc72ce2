import Foundation
import TestSupport
import XCTest

/// `OPENBLAS_NUM_THREADS` above the cores, with no `--threads`/`FTTRAIN_THREADS`, sets fttrain's
/// own thread count and oversubscribes the cores: fttrain warns once, naming what to set; with
/// `--threads`, or a value within the cores, it says nothing.
final class ThreadsEnvironmentTests: XCTestCase {
    func stderr(of arguments: [String], environment extra: [String: String]) throws -> (status: Int32, stderr: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-threads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TinyModelDirectory.write(to: directory, words: ["good", "bad"])
        let process = Process()
        process.executableURL = TestAssets.fttrainExecutable
        process.arguments =
            ["bench", "--model-dir", directory.path, "--mode", "infer", "--batch", "2", "--seq", "8", "--steps", "1", "--warmup", "0"] + arguments
        var environment = ProcessInfo.processInfo.environment
        for key in ["FTTRAIN_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"] { environment[key] = nil }
        environment.merge(extra) { $1 }
        process.environment = environment
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errorPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testOversubscribingEnvironmentIsWarnedAboutOnce() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let warned = try stderr(of: [], environment: ["OPENBLAS_NUM_THREADS": "\(cores + 6)"])
        XCTAssertEqual(warned.status, 0, warned.stderr)
        XCTAssertEqual(warned.stderr.components(separatedBy: "warning: OPENBLAS_NUM_THREADS=\(cores + 6)").count, 2, warned.stderr)
        XCTAssertTrue(warned.stderr.contains("FTTRAIN_THREADS") && warned.stderr.contains("OPENBLAS_NUM_THREADS=1"), warned.stderr)

        let explicit = try stderr(of: ["--threads", "1"], environment: ["OPENBLAS_NUM_THREADS": "\(cores + 6)"])
        XCTAssertFalse(explicit.stderr.contains("warning"), explicit.stderr)
        let own = try stderr(of: [], environment: ["OPENBLAS_NUM_THREADS": "\(cores + 6)", "FTTRAIN_THREADS": "1"])
        XCTAssertFalse(own.stderr.contains("warning"), own.stderr)
        let within = try stderr(of: [], environment: ["OPENBLAS_NUM_THREADS": "\(cores)"])
        XCTAssertFalse(within.stderr.contains("warning"), within.stderr)
    }
}

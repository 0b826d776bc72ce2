import Foundation
import XCTest

/// Runs the built `fttrain` binary as a user would (design.md §3.8).
public enum FTTrainProcess {
    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `fttrain arguments…` with `stdin`, waiting for it to end.
    public static func run(
        _ arguments: [String], stdin: Data = Data(), file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> Result {
        let executable = TestAssets.fttrainExecutable
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            XCTFail("fttrain not built at \(executable.path): run `swift build` before `swift test`", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently: a child filling one pipe while we block on the other would hang.
        let errorData = UncheckedBox(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorData.value = error.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: errorData.value, as: UTF8.self))
    }

    public static func run(
        _ arguments: [String], stdin: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> Result {
        try run(arguments, stdin: Data(stdin.utf8), file: file, line: line)
    }
}

final class UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

import Foundation
import XCTest

/// Where the tests find the real model: `FTTRAIN_MODEL_DIR`, else the cache that
/// `scripts/fetch_assets.sh` fills. A missing model fails the test — it is never skipped.
public enum TestAssets {
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static func realModelDirectory(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let path =
            ProcessInfo.processInfo.environment["FTTRAIN_MODEL_DIR"]
            ?? packageRoot.appendingPathComponent(".cache/models/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: path + "/model.safetensors") else {
            XCTFail("real model not found at \(path): run scripts/fetch_assets.sh (or set FTTRAIN_MODEL_DIR)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    /// The built `fttrain` executable, next to the test bundle in the products directory.
    public static var fttrainExecutable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fttrain")
    }
}

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

    /// The real SmolLM2-135M-Instruct GGUF file (98 MB, Q4_1): `FTTRAIN_SMOLLM2_GGUF`, else the cache
    /// that `scripts/fetch_assets.sh` fills. This is only the path; a test that needs the file must
    /// fail when it is missing (``requireSmolLM2GGUF(file:line:)`` does), never skip.
    public static var smolLM2GGUF: URL {
        let path =
            ProcessInfo.processInfo.environment["FTTRAIN_SMOLLM2_GGUF"]
            ?? packageRoot.appendingPathComponent(".cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf").path
        return URL(fileURLWithPath: path)
    }

    /// ``smolLM2GGUF``, after checking that the file exists (else the test fails and this throws).
    public static func requireSmolLM2GGUF(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = smolLM2GGUF
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("SmolLM2 GGUF not found at \(url.path): run scripts/fetch_assets.sh (or set FTTRAIN_SMOLLM2_GGUF)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return url
    }

    /// The built `fttrain` executable, next to the test bundle in the products directory.
    public static var fttrainExecutable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fttrain")
    }
}

import Foundation

/// What a lineage record says about fttrain itself: its version and the git commit of the source
/// checkout the binary was built from.
///
/// The commit is found at run time: `#filePath` of this file is baked in at compile time, so
/// `git -C <that checkout> rev-parse HEAD` (and `status --porcelain --untracked-files=no` for
/// `git_dirty`) names the sources as they are *now*. Limitations: a binary copied to a machine
/// without that checkout, without `git`, or built from a source archive records null; a checkout
/// moved to another commit after the build records the new commit (rebuild before a run whose
/// lineage matters — `swift build` is incremental, so a build is cheap).
public struct LineageEnvironment: Sendable, Equatable {
    /// fttrain's version (`FTTrainVersion.current`).
    public var version: String
    public var gitCommit: String?
    public var gitDirty: Bool?

    public init(version: String = FTTrainVersion.current, gitCommit: String?, gitDirty: Bool?) {
        self.version = version
        self.gitCommit = gitCommit
        self.gitDirty = gitDirty
    }

    /// This process's environment, looked up once.
    public static let current: LineageEnvironment = {
        let checkout = sourceCheckout
        guard let head = git(["rev-parse", "HEAD"], in: checkout), head.count == 40 || head.count == 64 else {
            return LineageEnvironment(gitCommit: nil, gitDirty: nil)
        }
        let status = git(["status", "--porcelain", "--untracked-files=no"], in: checkout)
        return LineageEnvironment(gitCommit: head, gitDirty: status.map { !$0.isEmpty })
    }()

    /// The package root this file was compiled from (the directory above `Sources/FTTrain/Lineage/`).
    static var sourceCheckout: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `git ARGS` run in `directory`: its trimmed standard output, or nil when git is missing, the
    /// directory is gone or not a repository, or the command fails.
    static func git(_ arguments: [String], in directory: URL) -> String? {
        guard FileManager.default.fileExists(atPath: directory.path) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// fttrain's version, as lineage records report it (and `fttrain serve`'s `/info` may).
public enum FTTrainVersion {
    public static let current = "0.16.0"
}

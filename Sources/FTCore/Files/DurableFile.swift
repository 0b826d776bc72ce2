#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// Writes that survive a crash or power loss once they return: data is fsynced before the call
/// returns, and directories are fsynced after entries are added, renamed or removed.
public enum DurableFile {
    /// Writes `data` to `url` (created or truncated) and fsyncs it.
    public static func save(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw failure("cannot create", url) }
        defer { close(fd) }
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write", url)
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw failure("cannot fsync", url) }
    }

    /// fsyncs an existing file or directory (directories: best effort, some filesystems refuse).
    public static func sync(_ url: URL, isDirectory: Bool = false) throws {
        let fd = open(url.path, isDirectory ? O_RDONLY | O_DIRECTORY : O_RDONLY)
        guard fd >= 0 else { throw failure("cannot open", url) }
        defer { close(fd) }
        if fsync(fd) != 0 && !isDirectory { throw failure("cannot fsync", url) }
    }

    /// fsyncs every regular file in `directory`, then the directory.
    public static func syncContents(of directory: URL) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            try sync(directory.appendingPathComponent(name))
        }
        try sync(directory, isDirectory: true)
    }

    private static func failure(_ what: String, _ url: URL) -> FileWriteError {
        FileWriteError(description: "\(what) \(url.path): \(String(cString: strerror(errno)))")
    }
}

/// A file or directory that could not be written or synced; the message names the path and the
/// system's reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

import Foundation

/// A directory built under a hidden name beside its destination and then committed by rename, so
/// a crash or an error never leaves a half-written directory under the final name: fttrain's one
/// way of writing a directory of files (checkpoints, exported models, site partitions).
///
/// The staging directory is `.<destination name>.<marker>`, plus `-<pid>` when `unique` (a
/// writer that only this process uses); a collective writer whose ranks must all find it leaves
/// `unique` off (`.checkpoint-<step>.partial`).
public struct StagedDirectory: Sendable {
    /// Where the directory ends up.
    public let destination: URL
    /// The hidden staging directory the files are written into.
    public let url: URL

    /// The staging directory of `destination` (nothing is created; see `create()`).
    public init(destination: URL, marker: String = "partial", unique: Bool = true) {
        self.destination = destination
        let name =
            "." + destination.lastPathComponent + "." + marker
            + (unique ? "-\(ProcessInfo.processInfo.processIdentifier)" : "")
        url = destination.deletingLastPathComponent().appendingPathComponent(name, isDirectory: true)
    }

    /// Removes any leftover staging directory of the same name and creates it empty (with its
    /// parents).
    public func create() throws {
        let fileManager = FileManager.default
        try? fileManager.removeItem(at: url)
        try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The staged file `name`.
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `data` to the staged file `name`; `durable` fsyncs it.
    public func write(_ data: Data, to name: String, durable: Bool = false) throws {
        if durable { try DurableFile.save(data, to: file(name)) } else { try data.write(to: file(name)) }
    }

    /// fsyncs every staged file, then the staging directory.
    public func syncContents() throws { try DurableFile.syncContents(of: url) }

    /// Renames the staging directory to `destination`, replacing a directory already there.
    /// `durable` fsyncs the staging directory first and the parent directory after, so the rename
    /// itself survives a crash.
    public func commit(durable: Bool = false) throws {
        let fileManager = FileManager.default
        if durable { try DurableFile.sync(url, isDirectory: true) }
        if fileManager.fileExists(atPath: destination.path) { try fileManager.removeItem(at: destination) }
        try fileManager.moveItem(at: url, to: destination)
        if durable { try DurableFile.sync(destination.deletingLastPathComponent(), isDirectory: true) }
    }

    /// Moves the staged files `names` into `destination` (created if missing; other files there
    /// stay) and removes the staging directory: for a set of files added to an existing directory.
    public func commitFiles(_ names: [String]) throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in names {
            try fileManager.moveItem(at: file(name), to: destination.appendingPathComponent(name))
        }
        try fileManager.removeItem(at: url)
    }

    /// Removes the staging directory and everything in it (best effort).
    public func discard() { try? FileManager.default.removeItem(at: url) }

    /// Creates the staging directory of `destination`, lets `body` write into it, and commits it
    /// by rename (`commit(durable:)`); if `body` or the commit throws, the staging directory is
    /// removed and the error rethrown.
    @discardableResult
    public static func write<T>(
        _ destination: URL, marker: String = "partial", unique: Bool = true, durable: Bool = false,
        _ body: (StagedDirectory) throws -> T
    ) throws -> T {
        let staged = StagedDirectory(destination: destination, marker: marker, unique: unique)
        try staged.create()
        do {
            let result = try body(staged)
            try staged.commit(durable: durable)
            return result
        } catch {
            staged.discard()
            throw error
        }
    }
}

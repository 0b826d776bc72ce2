import Foundation

/// Appends TFRecord records to a file: each is the payload's length (UInt64, little-endian), the
/// masked CRC-32C of those 8 bytes, the payload, and the masked CRC-32C of the payload (each CRC
/// a little-endian UInt32). TensorBoard's event files are TFRecord files of `Event` messages.
public final class TFRecordWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates (truncating) `path`.
    /// - Throws: `ReportError` naming the file when it cannot be created.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ReportError(path: path, message: "cannot create the TensorBoard event file")
        }
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// One framed record of `payload`.
    public static func frame(_ payload: Data) -> Data {
        var record = Data(capacity: payload.count + 16)
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Data($0) }
        record.append(length)
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(length)).littleEndian) { record.append(contentsOf: $0) }
        record.append(payload)
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(payload)).littleEndian) { record.append(contentsOf: $0) }
        return record
    }

    /// Writes one record (unbuffered: a reader sees it at once, and a crash loses nothing written).
    public func write(_ payload: Data) throws {
        do {
            try handle.write(contentsOf: Self.frame(payload))
        } catch {
            throw ReportError(path: path, message: "cannot write: \(error)")
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Builds a safetensors file in memory and writes it atomically.
///
/// The output matches the reference `safetensors` library (Rust/Python) byte for
/// byte: compact JSON with `__metadata__` first, then the tensors ordered by
/// dtype (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL — larger elements first,
/// as the reference does for alignment) and then by name, with data laid out in
/// the same order and the header padded with spaces to a multiple of 8 bytes.
/// Metadata keys are written sorted (the reference uses hash order, so files with
/// several metadata keys can differ from it only in that order).
///
///     var writer = SafeTensorsWriter(metadata: ["format": "pt"])
///     try writer.add("dense.weight", shape: [2, 3], floats: w)
///     try writer.add("ids", shape: [1, 4], int64s: [0, 1, 2, 3])
///     try writer.write(toPath: "/tmp/out.safetensors")
public struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        let name: String
        let dtype: SafeTensorsDType
        let shape: [Int]
        let bytes: [UInt8]
    }

    /// String metadata stored under the header's `__metadata__` key (omitted when empty).
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names: Set<String> = []

    /// Creates an empty writer.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Names added so far, in insertion order.
    public var tensorNames: [String] { entries.map(\.name) }

    // MARK: Adding tensors

    /// Adds a tensor of `Float` values stored as F32, F16 or BF16 (rounded to nearest
    /// even) or F64. `floats.count` must equal the product of `shape` (1 for `[]`).
    /// Throws on an empty, reserved or duplicate name, a negative dimension, a count
    /// mismatch or an integer dtype.
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: SafeTensorsDType = .F32) throws {
        try floats.withUnsafeBufferPointer { try add(name, shape: shape, floats: $0, as: dtype) }
    }

    /// Same as the array version, reading the values from a buffer.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>, as dtype: SafeTensorsDType = .F32) throws {
        guard dtype.isFloatingPoint else {
            throw Self.error(name, "cannot store Float values as \(dtype.rawValue); use F32, F16, BF16 or F64 (or add(_:shape:int64s:) for I64)")
        }
        let n = try checkNew(name, shape: shape, count: floats.count)
        let byteCount = n * dtype.byteSize
        let bytes = [UInt8](unsafeUninitializedCapacity: byteCount) { raw, initialized in
            let out = UnsafeMutableRawBufferPointer(raw)
            switch dtype {
            case .F32:
                #if _endian(little)
                    if n > 0 { out.baseAddress!.copyMemory(from: floats.baseAddress!, byteCount: byteCount) }
                #else
                    for i in 0..<n { out.storeBytes(of: floats[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                #endif
            case .F16:
                for i in 0..<n {
                    out.storeBytes(of: HalfPrecision.f16Bits(from: floats[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            case .BF16:
                for i in 0..<n {
                    out.storeBytes(of: HalfPrecision.bf16Bits(from: floats[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            case .F64:
                for i in 0..<n {
                    out.storeBytes(of: Double(floats[i]).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                }
            case .I64, .I32, .I16, .I8, .U8, .BOOL:
                break  // excluded above
            }
            initialized = byteCount
        }
        append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds an I64 tensor. `int64s.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws {
        let n = try checkNew(name, shape: shape, count: int64s.count)
        let bytes = [UInt8](unsafeUninitializedCapacity: 8 * n) { raw, initialized in
            let out = UnsafeMutableRawBufferPointer(raw)
            for i in 0..<n { out.storeBytes(of: int64s[i].littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            initialized = 8 * n
        }
        append(Entry(name: name, dtype: .I64, shape: shape, bytes: bytes))
    }

    /// Adds a tensor of any dtype from its already-encoded little-endian bytes
    /// (`bytes.count` must equal product(shape) × `dtype.byteSize`).
    public mutating func add(_ name: String, shape: [Int], rawBytes bytes: [UInt8], dtype: SafeTensorsDType) throws {
        let n = try checkNew(name, shape: shape, count: nil)
        let (needed, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes.count == needed else {
            throw Self.error(name, "shape \(shape) of \(dtype.rawValue) needs \(n) × \(dtype.byteSize) bytes but \(bytes.count) bytes were given")
        }
        append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    // MARK: Output

    /// The complete file: 8-byte length, padded header, data.
    public func serialized() -> [UInt8] {
        let ordered = orderedEntries()
        let header = headerBytes(ordered)
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + ordered.reduce(0) { $0 + $1.bytes.count })
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for e in ordered { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes the file atomically: the bytes go to a temporary file in the same
    /// directory, which is fsynced and then renamed over `path` (the directory is
    /// fsynced too). On failure the temporary file is removed and `path` is untouched.
    public func write(toPath path: String) throws {
        let ordered = orderedEntries()
        let header = headerBytes(ordered)

        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let baseName = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !baseName.isEmpty else {
            throw SafeTensorsError(path: path, reason: "cannot write: the path names a directory, not a file")
        }
        let tag = String(UInt64.random(in: .min ... .max), radix: 16)
        let tempPath = (directory == "/" ? "/" : directory + "/") + ".\(baseName).tmp-\(getpid())-\(tag)"

        func failure(_ what: String) -> SafeTensorsError {
            let code = errno
            return SafeTensorsError(path: path, reason: "\(what): \(String(cString: strerror(code))) (errno \(code))")
        }

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create temporary file '\(tempPath)'") }
        var fdOpen = true
        var renamed = false
        defer {
            if fdOpen { close(fd) }
            if !renamed { unlink(tempPath) }
        }

        func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write temporary file '\(tempPath)'")
                }
                offset += n
            }
        }
        try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try writeAll($0) }
        try header.withUnsafeBytes { try writeAll($0) }
        for e in ordered { try e.bytes.withUnsafeBytes { try writeAll($0) } }

        guard fsync(fd) == 0 else { throw failure("cannot fsync temporary file '\(tempPath)'") }
        fdOpen = false
        guard close(fd) == 0 else { throw failure("cannot close temporary file '\(tempPath)'") }
        guard rename(tempPath, path) == 0 else { throw failure("cannot rename '\(tempPath)' to the destination") }
        renamed = true

        // Make the rename durable (best effort; some filesystems refuse fsync on directories).
        let dfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    // MARK: Private

    private static func error(_ name: String, _ reason: String) -> SafeTensorsError {
        SafeTensorsError(path: "", tensor: name, reason: reason)
    }

    /// Validates a new tensor's name and shape; returns the element count.
    private func checkNew(_ name: String, shape: [Int], count: Int?) throws -> Int {
        guard !name.isEmpty else { throw Self.error(name, "tensor name must not be empty") }
        guard name != "__metadata__" else { throw Self.error(name, "\"__metadata__\" is reserved and cannot be a tensor name") }
        guard !names.contains(name) else { throw Self.error(name, "duplicate tensor name: a tensor with this name was already added") }
        var n = 1
        for d in shape {
            guard d >= 0 else { throw Self.error(name, "shape \(shape) has a negative dimension") }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { throw Self.error(name, "shape \(shape) has too many elements") }
            n = p
        }
        if let count, count != n {
            throw Self.error(name, "shape \(shape) needs \(n) elements but \(count) values were given")
        }
        return n
    }

    private mutating func append(_ entry: Entry) {
        names.insert(entry.name)
        entries.append(entry)
    }

    /// Reference-library order: larger dtypes first, then name (bytewise).
    private func orderedEntries() -> [Entry] {
        entries.sorted { a, b in
            if a.dtype.referenceOrderRank != b.dtype.referenceOrderRank {
                return a.dtype.referenceOrderRank > b.dtype.referenceOrderRank
            }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// Compact JSON (as serde_json writes it), padded with spaces to a multiple of 8.
    private func headerBytes(_ ordered: [Entry]) -> [UInt8] {
        var h: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() {
            if !first { h.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            Self.appendJSONString("__metadata__", to: &h)
            h.append(contentsOf: Array(":{".utf8))
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, k) in keys.enumerated() {
                if i > 0 { h.append(UInt8(ascii: ",")) }
                Self.appendJSONString(k, to: &h)
                h.append(UInt8(ascii: ":"))
                Self.appendJSONString(metadata[k]!, to: &h)
            }
            h.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for e in ordered {
            separator()
            Self.appendJSONString(e.name, to: &h)
            let shape = e.shape.map(String.init).joined(separator: ",")
            let end = offset + e.bytes.count
            h.append(contentsOf: Array(":{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}".utf8))
            offset = end
        }
        h.append(UInt8(ascii: "}"))
        let padding = (8 - h.count % 8) % 8
        h.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        return h
    }

    /// Appends `s` as a JSON string the way serde_json does: escapes `"` `\` and
    /// control characters (short forms where they exist, else `\u00XX` lowercase),
    /// everything else (including `/`, DEL and non-ASCII) verbatim UTF-8.
    private static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default:
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// `write(2)`, named so it does not clash with `SafeTensorsWriter.write(toPath:)`.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
        return Musl.write(fd, buffer, count)
    #else
        return Darwin.write(fd, buffer, count)
    #endif
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// Writes GGUF v3 files (metadata of any type, F32 and F16 tensors), staged and renamed into place.
///
/// The layout is gguf-py's `GGUFWriter`'s, byte for byte: header, metadata in the order added,
/// tensor infos in the order added, zero padding to the alignment, then each tensor's data padded
/// to the alignment (`general.alignment` when added as an integer power of two, else 32), so
/// llama.cpp, gguf-py and transformers read the result.
///
///     var writer = GGUFWriter()
///     writer.add(key: "general.architecture", .string("llama"))
///     try writer.addTensor(name: "output_norm.weight", shape: [576], values: norm, type: .f32)
///     try writer.write(to: url)
public struct GGUFWriter: Sendable {
    private struct Tensor: Sendable {
        let name: String
        let shape: [Int]
        let type: GGMLType
        let bytes: [UInt8]
    }

    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [Tensor] = []
    private var tensorNames: Set<String> = []

    /// Creates an empty writer.
    public init() {}

    /// Adds a metadata entry; adding a key again replaces its value and keeps its first position.
    /// Arrays must have elements of one type (checked by ``write(to:)``).
    public mutating func add(key: String, _ value: GGUFValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    /// Adds a tensor of `values` (row-major, `shape` in PyTorch order, outermost first), stored as
    /// F32 or F16 (rounded to nearest even). Throws on an empty or duplicate name, a name longer
    /// than llama.cpp's 63 bytes, more than 4 dimensions, a negative dimension, a count that is not
    /// the shape's product, or another type.
    public mutating func addTensor(name: String, shape: [Int], values: UnsafeBufferPointer<Float>, type: GGMLType) throws {
        func fail(_ reason: String) -> GGUFError { GGUFError(path: "", tensor: name, reason: reason) }
        guard type == .f32 || type == .f16 else {
            throw fail("cannot write type \(type.name); the writer stores F32 or F16")
        }
        guard !name.isEmpty else { throw fail("empty tensor name") }
        guard name.utf8.count <= 63 else { throw fail("name is \(name.utf8.count) bytes; llama.cpp accepts at most 63") }
        guard !tensorNames.contains(name) else { throw fail("duplicate tensor name") }
        guard shape.count <= GGUFParser.maximumDimensions else {
            throw fail("shape \(shape) has \(shape.count) dimensions; GGUF tensors have at most \(GGUFParser.maximumDimensions)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("shape \(shape) has a negative dimension") }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) has more elements than an Int holds") }
            count = p
        }
        guard count == values.count else {
            throw fail("shape \(shape) has \(count) elements but \(values.count) values were given")
        }
        var bytes: [UInt8]
        if type == .f32 {
            bytes = [UInt8](repeating: 0, count: 4 * count)
            bytes.withUnsafeMutableBytes { out in
                for (i, v) in values.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
        } else {
            bytes = [UInt8](repeating: 0, count: 2 * count)
            bytes.withUnsafeMutableBytes { out in
                for (i, v) in values.enumerated() {
                    out.storeBytes(of: HalfPrecision.f16Bits(from: v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            }
        }
        tensorNames.insert(name)
        tensors.append(Tensor(name: name, shape: shape, type: type, bytes: bytes))
    }

    /// Writes the file to a temporary name beside `url`, fsyncs it and renames it into place.
    /// Throws a ``GGUFError`` naming `url` for a mixed-type array, an invalid `general.alignment`
    /// or an I/O failure (no partial file is left at `url`).
    public func write(to url: URL) throws {
        let path = url.path
        func fail(_ reason: String, key: String? = nil) -> GGUFError { GGUFError(path: path, key: key, reason: reason) }

        var alignment = GGUFParser.defaultAlignment
        if let value = values["general.alignment"] {
            guard case .uint32(let a) = value, a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
                throw fail("must be a uint32 power of two (found \(value))", key: "general.alignment")
            }
            alignment = Int(a)
        }
        var header = Encoder()
        header.u32(GGUFParser.magic)
        header.u32(3)
        header.u64(UInt64(tensors.count))
        header.u64(UInt64(keys.count))
        for key in keys {
            header.string(key)
            let value = values[key]!
            header.u32(value.typeCode)
            do {
                try header.value(value)
            } catch let reason as EncodingProblem {
                throw fail(reason.message, key: key)
            }
        }
        var offset = 0
        for t in tensors {
            header.string(t.name)
            header.u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { header.u64(UInt64(d)) }
            header.u32(t.type.rawValue)
            header.u64(UInt64(offset))
            offset += Self.padded(t.bytes.count, alignment)
        }
        header.pad(to: alignment)

        let tag = String(UInt64.random(in: .min ... .max), radix: 16)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(tag)")
        func ioFailure(_ what: String) -> GGUFError {
            let code = errno
            return fail("\(what): \(String(cString: strerror(code))) (errno \(code))")
        }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioFailure("cannot create temporary file '\(temporary.path)'") }
        var open = true
        var renamed = false
        defer {
            if open { close(fd) }
            if !renamed { unlink(temporary.path) }
        }
        func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < bytes.count {
                let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ioFailure("cannot write temporary file '\(temporary.path)'")
                }
                done += n
            }
        }
        try header.bytes.withUnsafeBytes { try writeAll($0) }
        let zeros = [UInt8](repeating: 0, count: alignment)
        for t in tensors {
            try t.bytes.withUnsafeBytes { try writeAll($0) }
            let padding = Self.padded(t.bytes.count, alignment) - t.bytes.count
            if padding > 0 { try zeros.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<padding])) } }
        }
        guard fsync(fd) == 0 else { throw ioFailure("cannot fsync temporary file '\(temporary.path)'") }
        open = false
        guard close(fd) == 0 else { throw ioFailure("cannot close temporary file '\(temporary.path)'") }
        guard rename(temporary.path, path) == 0 else { throw ioFailure("cannot rename '\(temporary.path)' to the destination") }
        renamed = true
        try? DurableFile.sync(directory, isDirectory: true)
    }

    private static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private struct EncodingProblem: Error { let message: String }

    /// Little-endian GGUF encoding into a byte array.
    private struct Encoder {
        var bytes: [UInt8] = []

        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func string(_ s: String) {
            u64(UInt64(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
        }
        mutating func pad(to alignment: Int) {
            bytes.append(contentsOf: repeatElement(0, count: GGUFWriter.padded(bytes.count, alignment) - bytes.count))
        }

        /// The value without its type code (arrays: element type, count, elements).
        mutating func value(_ v: GGUFValue) throws {
            switch v {
            case .uint8(let x): bytes.append(x)
            case .int8(let x): bytes.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .bool(let x): bytes.append(x ? 1 : 0)
            case .string(let s): string(s)
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float64(let x): u64(x.bitPattern)
            case .array(let items):
                // An empty array has no element to take the type from: uint8, as good as any.
                let type = items.first?.typeCode ?? 0
                if let other = items.first(where: { $0.typeCode != type }) {
                    throw EncodingProblem(
                        message: "array elements must all have one type, but it mixes \(items[0].typeName) and \(other.typeName)")
                }
                u32(type)
                u64(UInt64(items.count))
                for item in items { try value(item) }
            }
        }
    }
}

/// `write(2)`, named so it does not clash with `GGUFWriter.write(to:)`.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
        return Musl.write(fd, buffer, count)
    #else
        return Darwin.write(fd, buffer, count)
    #endif
}

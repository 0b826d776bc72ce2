#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// Where one tensor lives in a GGUF file and how its elements are stored.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name ("blk.0.attn_q.weight").
    public let name: String
    /// PyTorch order (outermost first): a ggml `ne = [in, out]` weight is `shape = [out, in]`.
    public let shape: [Int]
    /// The element type (plain or block-quantised).
    public let type: GGMLType
    /// Absolute byte offset of the data in the file.
    public let offset: Int
    /// Bytes of data: `elementCount / type.blockSize × type.bytesPerBlock`.
    public let byteCount: Int

    /// Product of the shape (1 for a scalar, 0 if any dimension is 0).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Creates a tensor description (``GGUFFile`` reads only the descriptions it parsed itself).
    public init(name: String, shape: [Int], type: GGMLType, offset: Int, byteCount: Int) {
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
    }
}

/// A GGUF v2/v3 file (llama.cpp's format), header, metadata and tensor infos parsed and checked at
/// open; tensor data is memory-mapped and de-quantised to float32 on demand.
///
/// Format (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), all little-endian:
///
///     "GGUF" | version u32 | tensor count u64 | metadata count u64
///     metadata: key (u64 length + UTF-8) | value type u32 | value   (arrays: element type u32, count u64, values)
///     tensor infos: name | n_dims u32 | ne[n_dims] u64 (innermost first) | type u32 | offset u64
///     padding to `general.alignment` (default 32) | data section (offsets are relative to its start)
///
/// `init(url:)` checks everything before any tensor is read: counts and every string and array
/// length are bounded by the bytes left in the file (so a corrupt length never allocates), keys and
/// tensor names are unique, dimensions are non-negative with a product that fits, the innermost
/// dimension is a multiple of the type's block size, each tensor's data is aligned, inside the file
/// and overlaps no other. Every failure is a ``GGUFError`` naming the file and the problem.
/// Instances are immutable and can be shared between threads.
public final class GGUFFile: @unchecked Sendable {
    /// The file's URL.
    public let url: URL
    /// The format version (2 or 3).
    public let version: UInt32
    /// `general.alignment`, default 32: the data section and every tensor's data start at a multiple of it.
    public let alignment: Int
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// The metadata values by key.
    public let metadata: [String: GGUFValue]
    /// The tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// Absolute byte offset of the data section.
    public let dataOffset: Int
    /// Total size of the file in bytes.
    public let fileSize: Int

    private let byName: [String: Int]
    private let mapping: UnsafeMutableRawPointer?

    /// The path, for messages.
    public var path: String { url.path }

    /// Opens, maps and validates a GGUF file (see the type's documentation for what is checked).
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        func fail(_ reason: String) -> GGUFError { GGUFError(path: path, reason: reason) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("cannot stat file: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(st.st_size)
        fileSize = size
        guard size >= GGUFParser.headerSize else {
            throw fail(
                "file is \(size) bytes, shorter than the \(GGUFParser.headerSize)-byte GGUF header (magic, version, tensor count, metadata count): empty or truncated file"
            )
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw fail("cannot memory-map file: \(String(cString: strerror(errno)))")
        }
        do {
            let layout = try GGUFParser.parse(UnsafeRawBufferPointer(start: mapped, count: size), path: path)
            version = layout.version
            alignment = layout.alignment
            metadataKeys = layout.keys
            metadata = layout.metadata
            tensors = layout.tensors
            dataOffset = layout.dataOffset
        } catch {
            munmap(mapped, size)
            throw error
        }
        mapping = mapped
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        byName = index
    }

    deinit {
        if let mapping { munmap(mapping, fileSize) }
    }

    // MARK: Tensors

    /// The tensor called `name`, or `nil`.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        byName[name].map { tensors[$0] }
    }

    /// The tensor called `name`; throws (naming file and tensor) if there is none.
    public func requireTensor(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensor(named: name) else {
            throw GGUFError(path: path, tensor: name, reason: "no such tensor (the file has \(tensors.count) tensors)")
        }
        return info
    }

    /// The tensor's elements as float32 (de-quantised), row-major in PyTorch order.
    /// Throws, naming the tensor and its type, for a type fttrain cannot de-quantise.
    public func floats(_ info: GGUFTensorInfo) throws -> [Float] {
        let n = info.elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            try dequantize(info, into: buffer)
            initialized = n
        }
    }

    /// The elements of the tensor called `name` as float32; throws (naming file and tensor) if there
    /// is none or its type cannot be de-quantised.
    public func floats(named name: String) throws -> [Float] {
        try floats(requireTensor(name))
    }

    /// De-quantises the tensor into `destination`, whose count must equal its element count.
    /// The values equal ggml's `dequantize_row_*` (and gguf-py's `dequantize`) bit for bit.
    public func dequantize(_ info: GGUFTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let index = byName[info.name], tensors[index] == info else {
            throw GGUFError(path: path, tensor: info.name, reason: "the tensor description does not belong to this file")
        }
        guard destination.count == info.elementCount else {
            throw GGUFError(
                path: path, tensor: info.name,
                reason: "destination holds \(destination.count) floats but the tensor has \(info.elementCount) elements (shape \(info.shape))")
        }
        guard info.type.isDequantizable else {
            throw GGUFError(
                path: path, tensor: info.name,
                reason:
                    "tensor \(info.name) has type \(info.type.name), which fttrain cannot de-quantise (supported: \(GGMLType.dequantizableList))"
            )
        }
        guard let mapping, info.elementCount > 0, let out = destination.baseAddress else { return }
        let source = UnsafeRawPointer(mapping + info.offset)
        let blocks = info.elementCount / info.type.blockSize
        switch info.type {
        case .f32: memcpy(out, source, info.byteCount)
        case .f16: GGMLDequantization.f16(source, count: blocks, into: out)
        case .bf16: GGMLDequantization.bf16(source, count: blocks, into: out)
        case .q8_0: GGMLDequantization.q8_0(source, blocks: blocks, into: out)
        case .q4_0: GGMLDequantization.q4_0(source, blocks: blocks, into: out)
        case .q4_1: GGMLDequantization.q4_1(source, blocks: blocks, into: out)
        case .q4_K: GGMLDequantization.q4_K(source, blocks: blocks, into: out)
        case .q6_K: GGMLDequantization.q6_K(source, blocks: blocks, into: out)
        default: preconditionFailure("isDequantizable and the switch disagree on \(info.type.name)")
        }
    }

    /// Calls `body` with the tensor's raw bytes, straight from the mapping (valid only inside `body`).
    public func withRawBytes<R>(_ info: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let index = byName[info.name], tensors[index] == info else {
            throw GGUFError(path: path, tensor: info.name, reason: "the tensor description does not belong to this file")
        }
        guard let mapping, info.byteCount > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: mapping + info.offset, count: info.byteCount))
    }

    // MARK: Typed metadata

    private func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else {
            throw GGUFError(path: path, key: key, reason: "missing (the file has \(metadata.count) metadata keys)")
        }
        return v
    }

    private func wrongType(_ key: String, _ v: GGUFValue, expected: String) -> GGUFError {
        GGUFError(path: path, key: key, reason: "is a \(v.typeName), expected \(expected)")
    }

    /// The string at `key`; missing or not a string → ``GGUFError`` naming file and key.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.stringValue else { throw wrongType(key, v, expected: "a string") }
        return s
    }

    /// The integer at `key` (any integer type whose value fits an `Int`).
    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.intValue else {
            if case .uint64(let u) = v { throw GGUFError(path: path, key: key, reason: "value \(u) does not fit an Int") }
            throw wrongType(key, v, expected: "an integer")
        }
        return i
    }

    /// The number at `key`: float32, float64 or any integer type.
    public func float(_ key: String) throws -> Double {
        let v = try value(key)
        guard let d = v.doubleValue else { throw wrongType(key, v, expected: "a number") }
        return d
    }

    /// The boolean at `key`.
    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard let b = v.boolValue else { throw wrongType(key, v, expected: "a bool") }
        return b
    }

    /// The string at `key`, `nil` when absent (present with another type → error).
    public func optionalString(_ key: String) throws -> String? { metadata[key] == nil ? nil : try string(key) }
    /// The integer at `key`, `nil` when absent (present with another type → error).
    public func optionalInt(_ key: String) throws -> Int? { metadata[key] == nil ? nil : try int(key) }
    /// The number at `key`, `nil` when absent (present with another type → error).
    public func optionalFloat(_ key: String) throws -> Double? { metadata[key] == nil ? nil : try float(key) }
    /// The boolean at `key`, `nil` when absent (present with another type → error).
    public func optionalBool(_ key: String) throws -> Bool? { metadata[key] == nil ? nil : try bool(key) }

    private func array(_ key: String, of expected: String) throws -> [GGUFValue] {
        let v = try value(key)
        guard let items = v.arrayValue else { throw wrongType(key, v, expected: "an array of \(expected)") }
        return items
    }

    /// The array of strings at `key`.
    public func stringArray(_ key: String) throws -> [String] {
        let items = try array(key, of: "string")
        return try items.enumerated().map { i, item in
            guard let s = item.stringValue else {
                throw GGUFError(path: path, key: key, reason: "element \(i) is a \(item.typeName), expected a string")
            }
            return s
        }
    }

    /// The array of integers (any integer element type) at `key`.
    public func intArray(_ key: String) throws -> [Int] {
        let items = try array(key, of: "integers")
        return try items.enumerated().map { i, item in
            guard let n = item.intValue else {
                throw GGUFError(path: path, key: key, reason: "element \(i) is a \(item.typeName), expected an integer that fits an Int")
            }
            return n
        }
    }

    /// The array of numbers (float32, float64 or integers) at `key`, as float32.
    public func floatArray(_ key: String) throws -> [Float] {
        let items = try array(key, of: "numbers")
        return try items.enumerated().map { i, item in
            guard let d = item.doubleValue else {
                throw GGUFError(path: path, key: key, reason: "element \(i) is a \(item.typeName), expected a number")
            }
            return Float(d)
        }
    }
}

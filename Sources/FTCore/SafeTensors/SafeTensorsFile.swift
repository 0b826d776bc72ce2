#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - DType

/// The element types this package reads and writes in safetensors files.
///
/// The raw value is the string used in the file's JSON header ("F32", "BF16", …).
/// Data is always little-endian. `BOOL` is one byte per element (0 or 1).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }

    /// Whether ``SafeTensorsFile/floats(_:)`` can read this dtype.
    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: return true
        case .I64, .I32, .I16, .I8, .U8, .BOOL: return false
        }
    }

    /// Position in the reference library's `Dtype` enum (BOOL < U8 < I8 < I16 < F16 < BF16
    /// < I32 < F32 < F64 < I64). Its writer lays tensors out by descending rank, then by
    /// name, so that larger elements come first and stay aligned; ``SafeTensorsWriter``
    /// does the same to produce byte-identical files.
    var referenceOrderRank: Int {
        switch self {
        case .BOOL: return 0
        case .U8: return 1
        case .I8: return 2
        case .I16: return 3
        case .F16: return 4
        case .BF16: return 5
        case .I32: return 6
        case .F32: return 7
        case .F64: return 8
        case .I64: return 9
        }
    }

    static let supportedList = allCases.map(\.rawValue).joined(separator: ", ")
}

// MARK: - Tensor info

/// Where one tensor lives in a safetensors file and how to interpret it.
public struct SafeTensorInfo: Sendable, Equatable {
    /// The tensor's name (the key in the JSON header).
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// Dimensions, outermost first (row-major). `[]` is a scalar (one element).
    public let shape: [Int]
    /// The tensor's bytes within the data buffer (offsets relative to the first byte
    /// after the header, as in the header's `data_offsets`).
    public let byteRange: Range<Int>

    /// Product of the shape (1 for a scalar, 0 if any dimension is 0).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Creates a tensor description.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], byteRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteRange = byteRange
    }
}

// MARK: - File

/// A validated, memory-mapped safetensors file.
///
/// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length `N`, `N` bytes of UTF-8 JSON (optionally padded with spaces)
///
///     {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
///      "__metadata__": {"key": "value"}}
///
/// then the data buffer, to which `data_offsets` are relative.
///
/// `init(path:)` checks the whole header up front (see there), so later reads
/// cannot run out of bounds. The file is mapped read-only and never copied in
/// full; tensors are converted on demand. Instances are immutable and can be
/// shared between threads.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Header lengths above this are rejected as corrupt (same limit as the reference library).
    public static let maximumHeaderLength = 100_000_000

    /// The path the file was opened from.
    public let path: String
    /// The header's `__metadata__` (empty if absent).
    public let metadata: [String: String]
    /// All tensors, in data-buffer order.
    public let tensors: [SafeTensorInfo]
    /// Total size of the file in bytes.
    public let fileSize: Int
    /// Length of the JSON header in bytes (the `N` of the 8-byte prefix, padding included).
    public let headerLength: Int

    private let byName: [String: Int]
    private let mapping: UnsafeMutableRawPointer?
    /// Whether `mapping` is memory this instance allocated (`init(bytes:name:)`) rather than a file mapping.
    private let ownsMemory: Bool
    /// Start of the data buffer within the file (8 + headerLength).
    private let dataStart: Int

    /// Opens, maps and validates a safetensors file.
    ///
    /// Throws a ``SafeTensorsError`` naming the file (and the tensor, where there is
    /// one) if the file cannot be read, is shorter than 8 bytes, declares a header
    /// longer than the file or than 100 MB, has a header that is not UTF-8 JSON
    /// object text, has a tensor entry with a missing or mistyped field, an unknown
    /// dtype, a negative dimension, `begin > end`, a byte span that does not equal
    /// `product(shape) × dtype size`, or data offsets that are past the end of the
    /// file ("truncated"), overlap, leave gaps, or do not cover the whole data
    /// buffer (the reference library requires contiguous coverage), or if a name
    /// appears twice.
    public init(path: String) throws {
        self.path = path
        func fail(_ reason: String, tensor: String? = nil) -> SafeTensorsError {
            SafeTensorsError(path: path, tensor: tensor, reason: reason)
        }

        // Open and map.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open file: \(Self.errnoDescription())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("cannot stat file: \(Self.errnoDescription())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(st.st_size)
        fileSize = size
        guard size >= 8 else {
            throw fail("file is \(size) bytes, shorter than the 8-byte header-length prefix (empty or truncated file)")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
            mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw fail("cannot memory-map file: \(Self.errnoDescription())")
        }
        mapping = mapped
        // From here on, any throw must unmap (deinit does not run for a failed init).
        do {
            let layout = try Self.parseLayout(UnsafeRawBufferPointer(start: mapped, count: size), fail: fail)
            headerLength = layout.headerLength
            dataStart = layout.dataStart
            metadata = layout.metadata
            tensors = layout.tensors
            byName = layout.byName
        } catch {
            munmap(mapped, size)
            throw error
        }
        ownsMemory = false
    }

    /// Validates safetensors bytes held in memory (a message, not a file), exactly as
    /// `init(path:)` validates a file; `name` stands for the path in errors. The bytes are copied.
    public init(bytes: [UInt8], name: String) throws {
        path = name
        func fail(_ reason: String, tensor: String? = nil) -> SafeTensorsError {
            SafeTensorsError(path: name, tensor: tensor, reason: reason)
        }
        let size = bytes.count
        fileSize = size
        guard size >= 8 else {
            throw fail("message is \(size) bytes, shorter than the 8-byte header-length prefix (empty or truncated)")
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: size) }
        mapping = memory
        do {
            let layout = try Self.parseLayout(UnsafeRawBufferPointer(start: memory, count: size), fail: fail)
            headerLength = layout.headerLength
            dataStart = layout.dataStart
            metadata = layout.metadata
            tensors = layout.tensors
            byName = layout.byName
        } catch {
            memory.deallocate()
            throw error
        }
        ownsMemory = true
    }

    /// What the header says, validated against the buffer.
    private struct Layout {
        let headerLength: Int, dataStart: Int
        let metadata: [String: String]
        let tensors: [SafeTensorInfo]
        let byName: [String: Int]
    }

    /// Parses and checks the header of the safetensors bytes `bytes` (see `init(path:)`).
    private static func parseLayout(
        _ bytes: UnsafeRawBufferPointer,
        fail makeError: (String, String?) -> SafeTensorsError
    ) throws -> Layout {
        func fail(_ reason: String, tensor: String? = nil) -> SafeTensorsError { makeError(reason, tensor) }
        let size = bytes.count
        // Header length.
        let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(Self.maximumHeaderLength) else {
            throw fail(
                "header length \(declared) is absurd (limit \(Self.maximumHeaderLength) bytes); the 8-byte length prefix is corrupt or this is not a safetensors file"
            )
        }
        let n = Int(declared)
        guard n <= size - 8 else {
            throw fail(
                "header length \(n) exceeds the file: a file of \(size) bytes has room for at most \(size - 8) header bytes; the length prefix is corrupt or the file is truncated"
            )
        }
        guard n >= 2 else {
            throw fail("header length \(n) is too small to hold a JSON object; the length prefix is corrupt")
        }
        let dataStart = 8 + n
        let bufferSize = size - dataStart

        // Header text.
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<8 + n])
        if let bad = Self.firstInvalidUTF8Offset(headerBytes) {
            throw fail("header is not valid UTF-8 (bad byte at header offset \(bad)); the length prefix may be corrupt")
        }
        let root: HeaderJSONValue
        do {
            // The header's size is bounded by the 100 MB limit; typical headers are a few KB.
            root = try StrictJSON.parse(headerBytes, options: .init(maximumDepth: 128, loneSurrogates: .reject, endName: "end of header"))
        } catch {
            throw fail("header is not valid JSON: \(error.message) at header offset \(error.offset)")
        }
        guard case .object(let objectMembers) = root else {
            throw fail("header is not a JSON object (found \(root.kind))")
        }
        let members = objectMembers.map { ($0.key, $0.value) }

        // Entries.
        var meta: [String: String] = [:]
        var sawMetadata = false
        var infos: [SafeTensorInfo] = []
        infos.reserveCapacity(members.count)
        var index: [String: Int] = [:]
        for (key, value) in members {
            if key == "__metadata__" {
                guard !sawMetadata else { throw fail("header has more than one \"__metadata__\" entry") }
                sawMetadata = true
                meta = try Self.parseMetadata(value, fail: fail)
                continue
            }
            guard index[key] == nil else {
                throw fail("duplicate tensor name: the header lists it more than once", tensor: key)
            }
            let info = try Self.parseEntry(name: key, value, fail: fail)
            index[key] = infos.count
            infos.append(info)
        }

        // Layout: sort by offsets, then truncation, overlap, gaps, coverage.
        infos.sort {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound)
                || ($0.byteRange == $1.byteRange && $0.name.utf8.lexicographicallyPrecedes($1.name.utf8))
        }
        if let maxEnd = infos.map(\.byteRange.upperBound).max(), maxEnd > bufferSize,
            let first = infos.first(where: { $0.byteRange.upperBound > bufferSize })
        {
            throw fail(
                "file is truncated: data_offsets [\(first.byteRange.lowerBound), \(first.byteRange.upperBound)] reach past the end of the \(bufferSize)-byte data buffer; the header (8 + \(n) bytes) and data (\(maxEnd) bytes) need a file of at least \(dataStart + maxEnd) bytes, but the file has \(size) bytes",
                tensor: first.name)
        }
        var expected = 0
        var previous: SafeTensorInfo?
        for info in infos {
            let r = info.byteRange
            if r.lowerBound < expected, let p = previous {
                throw fail(
                    "data_offsets [\(r.lowerBound), \(r.upperBound)] overlap tensor '\(p.name)' at [\(p.byteRange.lowerBound), \(p.byteRange.upperBound)]",
                    tensor: info.name)
            }
            if r.lowerBound > expected {
                let after = previous.map { "after tensor '\($0.name)', which ends at \(expected)" } ?? "at the start of the data buffer"
                throw fail(
                    "data_offsets must be contiguous and cover the whole buffer: this tensor begins at \(r.lowerBound), leaving a gap of \(r.lowerBound - expected) unused bytes \(after)",
                    tensor: info.name)
            }
            expected = r.upperBound
            previous = info
        }
        if expected < bufferSize {
            let last = previous.map { "the last tensor, '\($0.name)', ends at \(expected)" } ?? "there are no tensors"
            throw fail(
                "data_offsets must be contiguous and cover the whole buffer: \(last), but the data buffer has \(bufferSize) bytes (\(bufferSize - expected) trailing bytes belong to no tensor)"
            )
        }

        var byName: [String: Int] = [:]
        byName.reserveCapacity(infos.count)
        for (i, info) in infos.enumerated() { byName[info.name] = i }
        return Layout(headerLength: n, dataStart: dataStart, metadata: meta, tensors: infos, byName: byName)
    }

    deinit {
        guard let mapping else { return }
        if ownsMemory { mapping.deallocate() } else { munmap(mapping, fileSize) }
    }

    // MARK: Lookup

    /// The tensor called `name`, or `nil`.
    public func info(_ name: String) -> SafeTensorInfo? {
        byName[name].map { tensors[$0] }
    }

    /// The tensor called `name`; throws (naming file and tensor) if there is none.
    public func requireInfo(_ name: String) throws -> SafeTensorInfo {
        guard let info = info(name) else {
            throw SafeTensorsError(path: path, tensor: name, reason: "no such tensor (the file has \(tensors.count) tensors)")
        }
        return info
    }

    /// Whether a tensor called `name` exists.
    public func contains(_ name: String) -> Bool { byName[name] != nil }

    /// Sum of all tensors' element counts.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }

    // MARK: Reading

    /// Calls `body` with the tensor's raw little-endian bytes, straight from the mapping.
    /// The pointer is valid only inside `body`.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try requireInfo(name)
        return try body(rawBytes(info))
    }

    /// The tensor's elements as `Float`, converting from F32, F16, BF16 or F64 (F64 is
    /// rounded to nearest). Any other dtype throws, naming the file and the tensor.
    public func floats(_ name: String) throws -> [Float] {
        let info = try requireInfo(name)
        try checkFloatingPoint(info)
        let n = info.elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            try copyFloats(info, into: buffer)
            initialized = n
        }
    }

    /// Like ``floats(_:)``, but also checks that the tensor's shape is `shape`
    /// (throwing, naming file and tensor and both shapes, if not).
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let info = try requireInfo(name)
        guard info.shape == shape else {
            throw SafeTensorsError(path: path, tensor: name, reason: "shape is \(info.shape) but \(shape) was expected")
        }
        return try floats(name)
    }

    /// Converts the tensor to `Float` (from F32, F16, BF16 or F64) into `destination`,
    /// whose count must equal the tensor's element count (else throws, naming the
    /// tensor and both counts).
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try requireInfo(name)
        try checkFloatingPoint(info)
        guard destination.count == info.elementCount else {
            throw SafeTensorsError(
                path: path, tensor: name,
                reason: "destination holds \(destination.count) floats but the tensor has \(info.elementCount) elements (shape \(info.shape))")
        }
        try copyFloats(info, into: destination)
    }

    /// The tensor's elements as `Int64`, from I64, I32, I16, I8, U8 or BOOL (0 or 1).
    /// Floating-point dtypes throw, naming the file and the tensor.
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try requireInfo(name)
        let src = rawBytes(info)
        let n = info.elementCount
        switch info.dtype {
        case .I64:
            return (0..<n).map { Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
        case .I32:
            return (0..<n).map { Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        case .I16:
            return (0..<n).map { Int64(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
        case .I8:
            return (0..<n).map { Int64(Int8(bitPattern: src[$0])) }
        case .U8:
            return (0..<n).map { Int64(src[$0]) }
        case .BOOL:
            return (0..<n).map { src[$0] != 0 ? 1 : 0 }
        case .F64, .F32, .F16, .BF16:
            throw SafeTensorsError(
                path: path, tensor: name,
                reason: "dtype \(info.dtype.rawValue) is floating point and cannot be read as integers (use floats)")
        }
    }

    // MARK: Private

    private func rawBytes(_ info: SafeTensorInfo) -> UnsafeRawBufferPointer {
        guard let mapping, !info.byteRange.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: mapping + dataStart + info.byteRange.lowerBound, count: info.byteRange.count)
    }

    private func checkFloatingPoint(_ info: SafeTensorInfo) throws {
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError(
                path: path, tensor: info.name,
                reason: "dtype \(info.dtype.rawValue) cannot be read as Float (only F32, F16, BF16, F64 can; use int64s)")
        }
    }

    /// Requires `destination.count == info.elementCount` and a floating-point dtype.
    private func copyFloats(_ info: SafeTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let n = info.elementCount
        guard n > 0, let out = destination.baseAddress else { return }
        let src = rawBytes(info)
        switch info.dtype {
        case .F32:
            #if _endian(little)
                UnsafeMutableRawPointer(out).copyMemory(from: src.baseAddress!, byteCount: 4 * n)
            #else
                for i in 0..<n {
                    out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            #endif
        case .F16:
            for i in 0..<n {
                out[i] = HalfPrecision.float(fromF16Bits: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .BF16:
            for i in 0..<n {
                out[i] = HalfPrecision.float(fromBF16Bits: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .F64:
            for i in 0..<n {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .I64, .I32, .I16, .I8, .U8, .BOOL:
            try checkFloatingPoint(info)
        }
    }

    private static func errnoDescription() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// Offset of the first byte that breaks UTF-8 well-formedness, or nil.
    private static func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private static func parseMetadata(_ value: HeaderJSONValue, fail: (String, String?) -> SafeTensorsError) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var result: [String: String] = [:]
            for (k, v) in members.map({ ($0.key, $0.value) }) {
                guard result[k] == nil else { throw fail("__metadata__ has duplicate key '\(k)'", nil) }
                guard case .string(let s) = v else {
                    throw fail("__metadata__ values must be strings, but key '\(k)' has a \(v.kind)", nil)
                }
                result[k] = s
            }
            return result
        default:
            throw fail("__metadata__ must be a JSON object of strings, found \(value.kind)", nil)
        }
    }

    private static func parseEntry(name: String, _ value: HeaderJSONValue, fail: (String, String?) -> SafeTensorsError) throws -> SafeTensorInfo {
        func bad(_ reason: String) -> SafeTensorsError { fail(reason, name) }
        guard case .object(let fieldMembers) = value else {
            throw bad("tensor entry must be a JSON object with dtype, shape and data_offsets, found \(value.kind)")
        }
        var dtypeValue: HeaderJSONValue?, shapeValue: HeaderJSONValue?, offsetsValue: HeaderJSONValue?
        var seen = Set<String>()
        for (k, v) in fieldMembers.map({ ($0.key, $0.value) }) {
            guard seen.insert(k).inserted else { throw bad("field '\(k)' appears more than once") }
            switch k {
            case "dtype": dtypeValue = v
            case "shape": shapeValue = v
            case "data_offsets": offsetsValue = v
            default: break  // unknown fields are ignored, as by the reference library
            }
        }

        guard let dtypeValue else { throw bad("missing field 'dtype'") }
        guard case .string(let dtypeString) = dtypeValue else {
            throw bad("field 'dtype' must be a string, found \(dtypeValue.kind)")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeString) else {
            throw bad("unknown or unsupported dtype '\(dtypeString)' (supported: \(SafeTensorsDType.supportedList))")
        }

        guard let shapeValue else { throw bad("missing field 'shape'") }
        guard case .array(let dims) = shapeValue else {
            throw bad("field 'shape' must be an array of non-negative integers, found \(shapeValue.kind)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (i, d) in dims.enumerated() {
            switch d.integer {
            case .value(let v) where v >= 0: shape.append(v)
            case .value(let v): throw bad("shape[\(i)] is \(v): dimensions must be non-negative")
            case .outOfRange(let text): throw bad("shape[\(i)] = \(text) is out of range")
            case .notInteger: throw bad("shape[\(i)] must be a non-negative integer, found \(d.description)")
            }
        }

        guard let offsetsValue else { throw bad("missing field 'data_offsets'") }
        guard case .array(let offs) = offsetsValue, offs.count == 2 else {
            throw bad("field 'data_offsets' must be an array of two non-negative integers [begin, end], found \(offsetsValue.description)")
        }
        var bounds: [Int] = []
        for (i, o) in offs.enumerated() {
            let which = i == 0 ? "begin" : "end"
            switch o.integer {
            case .value(let v) where v >= 0: bounds.append(v)
            case .value(let v): throw bad("data_offsets \(which) is \(v): offsets must be non-negative")
            case .outOfRange(let text): throw bad("data_offsets \(which) = \(text) is out of range")
            case .notInteger: throw bad("data_offsets \(which) must be a non-negative integer, found \(o.description)")
            }
        }
        let (begin, end) = (bounds[0], bounds[1])
        guard begin <= end else {
            throw bad("data_offsets [\(begin), \(end)]: begin is greater than end")
        }

        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("shape \(shape) has too many elements") }
            count = p
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw bad("shape \(shape) of \(dtype.rawValue) is too large") }
        guard end - begin == needed else {
            throw bad(
                "data_offsets [\(begin), \(end)] span \(end - begin) bytes, but shape \(shape) of \(dtype.rawValue) needs \(needed) bytes (\(count) elements × \(dtype.byteSize) bytes)"
            )
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }
}

// MARK: - Header JSON

/// The header is parsed by `StrictJSON` (members in order, duplicates kept, so duplicate names can
/// be reported; numbers as their source text, so integers of any size convert exactly, with no
/// NSNumber/Double round trip and no bool-as-number).
fileprivate typealias HeaderJSONValue = StrictJSON.Value

fileprivate extension StrictJSON.Value {
    /// A short rendering for error messages.
    var description: String {
        switch self {
        case .object: return "an object"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .string(let s): return "\"\(s)\""
        case .number(let n): return n
        case .bool(let b): return String(b)
        case .null: return "null"
        }
    }

    enum IntegerResult { case value(Int), outOfRange(String), notInteger }

    /// The value as an exact integer: digits only, optional leading minus.
    var integer: IntegerResult {
        guard case .number(let text) = self,
            !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        else { return .notInteger }
        if let v = Int(text) { return .value(v) }
        return .outOfRange(text)
    }
}

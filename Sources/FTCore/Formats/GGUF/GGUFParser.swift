/// Parses and checks the header, metadata and tensor infos of GGUF bytes (see ``GGUFFile``).
/// Every length read from the file is bounded by the bytes left before anything is allocated.
enum GGUFParser {
    /// Magic (4) + version (4) + tensor count (8) + metadata count (8).
    static let headerSize = 24
    /// "GGUF" read as a little-endian UInt32.
    static let magic: UInt32 = 0x4655_4747
    static let defaultAlignment = 32
    /// Arrays nested deeper than this are refused (real files nest at most one level).
    static let maximumArrayDepth = 16
    /// ggml's GGML_MAX_DIMS.
    static let maximumDimensions = 4

    struct Layout {
        let version: UInt32
        let alignment: Int
        let keys: [String]
        let metadata: [String: GGUFValue]
        let tensors: [GGUFTensorInfo]
        let dataOffset: Int
    }

    /// A read position in the file's bytes; running out of bytes is a "truncated" error that says
    /// what was being read.
    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var offset = 0
        /// What is being read, for messages ("the value of metadata key 'x'").
        var context = "the header"
        var key: String?
        var tensor: String?

        var remaining: Int { bytes.count - offset }

        func error(_ reason: String) -> GGUFError { GGUFError(path: path, key: key, tensor: tensor, reason: reason) }

        /// An error caused by running out of bytes (which a corrupt count may explain).
        func truncation(_ reason: String) -> GGUFError {
            var e = error(reason)
            e.isTruncation = true
            return e
        }

        func truncated(_ n: Int) -> GGUFError {
            truncation(
                "truncated file: it ends at byte \(bytes.count), inside \(context) (\(n) bytes needed at offset \(offset), \(remaining) left)"
            )
        }

        mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let n = MemoryLayout<T>.size
            guard n <= remaining else { throw truncated(n) }
            defer { offset += n }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        /// A length-prefixed UTF-8 string; its length is checked against the bytes left first.
        mutating func string() throws -> String {
            let length = try load(UInt64.self)
            guard length <= UInt64(remaining) else {
                throw truncation(
                    "string length \(length) at offset \(offset - 8) exceeds the \(remaining) bytes left in the file, inside \(context) (corrupt length or truncated file)"
                )
            }
            let n = Int(length)
            let raw = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
            guard let s = String(validating: raw, as: UTF8.self) else {
                throw error("the string at offset \(offset) (\(n) bytes), inside \(context), is not valid UTF-8")
            }
            offset += n
            return s
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Layout {
        var c = Cursor(bytes: bytes, path: path)
        let magic = try c.load(UInt32.self)
        guard magic == Self.magic else {
            let shown = (0..<4).map { bytes[$0] < 16 ? "0" + String(bytes[$0], radix: 16) : String(bytes[$0], radix: 16) }.joined(separator: " ")
            throw c.error("not a GGUF file: the first 4 bytes are \(shown), not the magic \"GGUF\" (47 47 55 46)")
        }
        let version = try c.load(UInt32.self)
        guard version == 2 || version == 3 else {
            let hint =
                version == 1
                ? " (GGUF v1, with 32-bit counts, is obsolete; re-convert the model)"
                : version.byteSwapped <= 3 ? " (a big-endian GGUF file? only little-endian files are read)" : ""
            throw c.error("unknown GGUF version \(version); versions 2 and 3 are read\(hint)")
        }
        let tensorCount = try c.load(UInt64.self)
        let keyCount = try c.load(UInt64.self)
        // Each metadata entry takes at least 13 bytes (key length 8, type 4, one-byte value) and each
        // tensor info at least 24 (name length 8, n_dims 4, type 4, offset 8). Counts beyond that are
        // corrupt or the file is truncated; which one shows when parsing runs out of bytes (then the
        // message says where), else the counts are blamed. Nothing is reserved beyond the file's size.
        let left = UInt64(c.remaining)
        let plausible = keyCount <= left / 13 && tensorCount <= left / 24 && keyCount * 13 + tensorCount * 24 <= left
        func needed(_ count: UInt64, _ size: UInt64) -> String {
            count.multipliedReportingOverflow(by: size).overflow ? "more than 2^64" : String(count &* size)
        }
        let countsProblem =
            "the header declares \(keyCount) metadata entries and \(tensorCount) tensors, which need at least \(needed(keyCount, 13)) + \(needed(tensorCount, 24)) bytes, but the file has \(left) bytes after the header: the counts are corrupt or the file is truncated"
        do {
            return try parseBody(&c, keyCount: keyCount, tensorCount: tensorCount, version: version)
        } catch let error as GGUFError where !plausible {
            if error.isTruncation {
                throw GGUFError(path: path, key: error.key, tensor: error.tensor, reason: error.reason + "; " + countsProblem)
            }
            throw GGUFError(path: path, reason: countsProblem)
        }
    }

    /// Metadata, tensor infos and the data layout, after the header.
    private static func parseBody(_ c: inout Cursor, keyCount: UInt64, tensorCount: UInt64, version: UInt32) throws -> Layout {
        let path = c.path
        let bytes = c.bytes
        // Metadata.
        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(min(keyCount, UInt64(c.remaining / 13))))
        var i: UInt64 = 0
        while i < keyCount {
            defer { i += 1 }
            c.key = nil
            c.context = "the key of metadata entry #\(i)"
            let key = try c.string()
            c.key = key
            guard metadata[key] == nil else { throw c.error("duplicate metadata key (entry #\(i) repeats it)") }
            c.context = "the value type of metadata key '\(key)'"
            let type = try c.load(UInt32.self)
            c.context = "the value of metadata key '\(key)'"
            metadata[key] = try readValue(type: type, depth: 0, &c)
            keys.append(key)
        }
        c.key = nil

        var alignment = defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue else {
                throw GGUFError(path: path, key: "general.alignment", reason: "is a \(value.typeName), expected an unsigned integer")
            }
            guard a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
                throw GGUFError(path: path, key: "general.alignment", reason: "alignment \(a) is not a power of two between 1 and 2^30")
            }
            alignment = a
        }

        // Tensor infos.
        var tensors: [GGUFTensorInfo] = []
        var relativeOffsets: [Int] = []
        tensors.reserveCapacity(Int(min(tensorCount, UInt64(c.remaining / 24))))
        var seen = Set<String>()
        i = 0
        while i < tensorCount {
            defer { i += 1 }
            c.tensor = nil
            c.context = "the name of tensor info #\(i)"
            let name = try c.string()
            c.tensor = name
            guard seen.insert(name).inserted else { throw c.error("duplicate tensor name (tensor info #\(i) repeats it)") }
            c.context = "the tensor info of '\(name)'"
            let dims = try c.load(UInt32.self)
            guard dims <= maximumDimensions else {
                throw c.error("n_dims is \(dims); ggml tensors have at most \(maximumDimensions) dimensions")
            }
            var ne: [Int] = []
            var product = 1
            for d in 0..<Int(dims) {
                let raw = Int64(bitPattern: try c.load(UInt64.self))
                guard raw >= 0 else { throw c.error("dimension ne[\(d)] is \(raw), negative") }
                let (p, overflow) = product.multipliedReportingOverflow(by: Int(raw))
                guard !overflow else {
                    throw c.error("dimensions ne = \(ne + [Int(raw)])… have a product that does not fit a 64-bit integer")
                }
                product = p
                ne.append(Int(raw))
            }
            let rawType = try c.load(UInt32.self)
            guard let type = GGMLType(rawValue: rawType) else {
                throw c.error("unknown tensor type \(rawType) (not a ggml type this reader knows)")
            }
            let rowLength = ne.first ?? 1
            guard rowLength % type.blockSize == 0 else {
                throw c.error(
                    "the innermost dimension ne[0] = \(rowLength) is not a multiple of \(type.name)'s block size \(type.blockSize)")
            }
            let (byteCount, overflow) = (product / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
            guard !overflow else { throw c.error("its \(product) elements of \(type.name) need more than 2^63 bytes") }
            let offset = try c.load(UInt64.self)
            guard offset <= UInt64(Int.max / 2) else { throw c.error("data offset \(offset) is absurd") }
            guard Int(offset) % alignment == 0 else {
                throw c.error("data offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            relativeOffsets.append(Int(offset))
            tensors.append(GGUFTensorInfo(name: name, shape: ne.reversed(), type: type, offset: Int(offset), byteCount: byteCount))
        }
        c.tensor = nil

        // Data section: after the infos, at the next multiple of the alignment.
        let dataOffset = (c.offset + alignment - 1) / alignment * alignment
        if !tensors.isEmpty && dataOffset > bytes.count {
            throw c.error(
                "truncated file: the data section would start at byte \(dataOffset) (tensor infos end at \(c.offset), alignment \(alignment)), past the end of the \(bytes.count)-byte file"
            )
        }
        tensors = tensors.map {
            GGUFTensorInfo(name: $0.name, shape: $0.shape, type: $0.type, offset: dataOffset + $0.offset, byteCount: $0.byteCount)
        }
        // Bounds and overlaps, in offset order (zero-byte tensors occupy nothing).
        let order = tensors.indices.sorted { (tensors[$0].offset, $0) < (tensors[$1].offset, $1) }
        var previous: GGUFTensorInfo?
        for i in order {
            let t = tensors[i]
            if let p = previous, t.byteCount > 0, t.offset < p.offset + p.byteCount {
                throw GGUFError(
                    path: path, tensor: t.name,
                    reason:
                        "its data at relative offset \(relativeOffsets[i]) (\(t.byteCount) bytes) overlaps tensor '\(p.name)' at relative offset \(p.offset - dataOffset) (\(p.byteCount) bytes)"
                )
            }
            guard t.byteCount <= bytes.count - t.offset || (t.byteCount == 0 && t.offset <= bytes.count) else {
                throw GGUFError(
                    path: path, tensor: t.name,
                    reason:
                        "truncated file: the data of this \(t.type.name) tensor of shape \(t.shape) needs bytes \(t.offset)..<\(t.offset + t.byteCount), but the file has \(bytes.count) bytes"
                )
            }
            if t.byteCount > 0 { previous = t }
        }
        return Layout(version: version, alignment: alignment, keys: keys, metadata: metadata, tensors: tensors, dataOffset: dataOffset)
    }

    /// The smallest encoding of a value of `type` (nil for an unknown type).
    private static func minimumSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 10, 11, 12: return 8
        case 8: return 8
        case 9: return 12
        default: return nil
        }
    }

    private static func readValue(type: UInt32, depth: Int, _ c: inout Cursor) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try c.load(UInt8.self))
        case 1: return .int8(try c.load(Int8.self))
        case 2: return .uint16(try c.load(UInt16.self))
        case 3: return .int16(try c.load(Int16.self))
        case 4: return .uint32(try c.load(UInt32.self))
        case 5: return .int32(try c.load(Int32.self))
        case 6: return .float32(Float(bitPattern: try c.load(UInt32.self)))
        case 7:
            let b = try c.load(UInt8.self)
            guard b <= 1 else { throw c.error("bool value at offset \(c.offset - 1) is \(b), not 0 or 1") }
            return .bool(b == 1)
        case 8: return .string(try c.string())
        case 9:
            guard depth < maximumArrayDepth else {
                throw c.error("arrays nested more than \(maximumArrayDepth) deep, inside \(c.context)")
            }
            let elementType = try c.load(UInt32.self)
            guard let size = minimumSize(elementType) else {
                throw c.error("unknown array element type \(elementType) at offset \(c.offset - 4), inside \(c.context)")
            }
            let count = try c.load(UInt64.self)
            guard count <= UInt64(c.remaining / size) else {
                throw c.truncation(
                    "array of \(count) \(GGUFValue.typeName(code: elementType)) elements (at least \(size) bytes each) at offset \(c.offset - 8) cannot fit in the \(c.remaining) bytes left, inside \(c.context) (corrupt length or truncated file)"
                )
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { items.append(try readValue(type: elementType, depth: depth + 1, &c)) }
            return .array(items)
        case 10: return .uint64(try c.load(UInt64.self))
        case 11: return .int64(try c.load(Int64.self))
        case 12: return .float64(Double(bitPattern: try c.load(UInt64.self)))
        default:
            throw c.error("unknown value type \(type) at offset \(c.offset - 4), inside \(c.context) (valid types are 0…12)")
        }
    }
}

/// One GGUF metadata value. The cases and their order are those of the format's
/// `gguf_type` (0 = uint8 … 12 = float64); an array's elements all have one type in a valid
/// file (arrays of arrays are allowed, each inner array with its own element type).
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue]), uint64(UInt64), int64(Int64)
    case float64(Double)

    /// The `gguf_type` code of this value (9 for arrays).
    public var typeCode: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// The type's name in messages ("uint32", "array of string", …).
    public var typeName: String {
        if case .array(let items) = self {
            return items.first.map { "array of \($0.typeName)" } ?? "array"
        }
        return Self.typeName(code: typeCode)
    }

    static func typeName(code: UInt32) -> String {
        let names = [
            "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array",
            "uint64", "int64", "float64",
        ]
        return code < names.count ? names[Int(code)] : "unknown type \(code)"
    }

    /// The value as an `Int` if it is an integer of any width that fits, else `nil`.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value as a `Double` if it is a float (or an integer), else `nil`.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        case .uint64(let v): return Double(v)
        default: return intValue.map(Double.init)
        }
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, if this is one.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [GGUFValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

/// fttrain's one JSON parser: strict RFC 8259, for the two places where Foundation's
/// `JSONSerialization`/`JSONDecoder` are too loose (they accept trailing commas and decode `1.0`
/// and `1e2` as integers): the safetensors header (`SafeTensorsFile`) and the lines of a JSON Lines
/// data file (FTTrain's readers).
///
/// Numbers keep their literal text, so an integer (`1`) can be told from a non-integer (`1.5`) and
/// integers of any size convert exactly. Objects keep their members in order, duplicates included,
/// so a caller can report duplicate names (safetensors) or keep the last value (JSON Lines, as
/// Python's `json` does). Input must already be valid UTF-8.
public enum StrictJSON {
    public indirect enum Value: Equatable, Sendable {
        case string(String)
        case number(String)
        case bool(Bool)
        case null
        case array([Value])
        case object([Member])

        /// The type's bare name: "object", "array", "string", "number", "boolean", "null".
        public var kind: String {
            switch self {
            case .object: return "object"
            case .array: return "array"
            case .string: return "string"
            case .number: return "number"
            case .bool: return "boolean"
            case .null: return "null"
            }
        }

        /// The type with its article, as messages name it: "a string", "an object", "null".
        public var typeName: String {
            switch self {
            case .string: return "a string"
            case .number: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            case .array: return "an array"
            case .object: return "an object"
            }
        }
    }

    /// One `"key": value` of an object.
    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: Value
        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// A syntax error at byte `offset` of the input.
    public struct SyntaxError: Error, Equatable, Sendable {
        public var message: String
        public var offset: Int
        public init(message: String, offset: Int) {
            self.message = message
            self.offset = offset
        }
    }

    /// How a `\uD800`-style escape without its other half is treated.
    public enum LoneSurrogates: Sendable {
        /// It becomes U+FFFD (a Swift string cannot hold it), as in Python and most decoders.
        case replace
        /// It is an error (`unpaired surrogate in \u escape`), as in Rust's serde_json.
        case reject
    }

    public struct Options: Sendable {
        /// Deeper nesting is an error; shallow enough that the recursion cannot overflow a stack.
        public var maximumDepth: Int
        public var loneSurrogates: LoneSurrogates
        /// How messages name the end of the input ("end of line", "end of header").
        public var endName: String

        public init(maximumDepth: Int = 256, loneSurrogates: LoneSurrogates = .replace, endName: String = "end of input") {
            self.maximumDepth = maximumDepth
            self.loneSurrogates = loneSurrogates
            self.endName = endName
        }
    }

    /// Parses exactly one JSON value filling `bytes` (surrounding whitespace allowed).
    public static func parse(_ bytes: UnsafeRawBufferPointer, options: Options = Options()) throws(SyntaxError) -> Value {
        var parser = Parser(bytes, options)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.i < bytes.count { throw parser.error("unexpected \(parser.describeCurrent()) after the value") }
        return value
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: Options = Options()) throws(SyntaxError) -> Value {
        try parse(UnsafeRawBufferPointer(bytes), options: options)
    }

    /// The 1-based column of byte `offset` of `bytes`, counted in Unicode scalars.
    public static func column(ofOffset offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var scalars = 0
        for k in 0..<min(offset, bytes.count) where bytes[k] & 0xC0 != 0x80 { scalars += 1 }
        return scalars + 1
    }
}

extension StrictJSON {
    private struct Parser {
        let b: UnsafeRawBufferPointer
        let options: Options
        var i = 0
        var depth = 0

        init(_ bytes: UnsafeRawBufferPointer, _ options: Options) {
            b = bytes
            self.options = options
        }

        func error(_ message: String) -> SyntaxError {
            SyntaxError(message: message, offset: i)
        }

        func describeCurrent() -> String {
            guard i < b.count else { return options.endName }
            let c = b[i]
            if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
            return "character"
        }

        mutating func skipWhitespace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        }

        mutating func parseValue() throws(SyntaxError) -> Value {
            guard i < b.count else { throw error("expected a value, found \(options.endName)") }
            switch b[i] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw error("expected a value, found \(describeCurrent())")
            }
        }

        mutating func literal(_ word: StaticString) throws(SyntaxError) {
            let start = i
            for k in 0..<word.utf8CodeUnitCount {
                guard start + k < b.count, b[start + k] == word.utf8Start[k] else {
                    throw error("invalid literal (expected \(word))")
                }
            }
            i = start + word.utf8CodeUnitCount
        }

        mutating func enter() throws(SyntaxError) {
            depth += 1
            if depth > options.maximumDepth { throw error("nesting deeper than \(options.maximumDepth) levels") }
        }

        mutating func parseObject() throws(SyntaxError) -> Value {
            try enter()
            defer { depth -= 1 }
            i += 1
            var members: [Member] = []
            skipWhitespace()
            if i < b.count && b[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a key in double quotes, found \(describeCurrent())") }
                let key = try parseString()
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\", found \(describeCurrent())") }
                i += 1
                skipWhitespace()
                members.append(Member(key: key, value: try parseValue()))
                skipWhitespace()
                guard i < b.count else { throw error("object not closed (expected ',' or '}')") }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if b[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                throw error("expected ',' or '}', found \(describeCurrent())")
            }
        }

        mutating func parseArray() throws(SyntaxError) -> Value {
            try enter()
            defer { depth -= 1 }
            i += 1
            var items: [Value] = []
            skipWhitespace()
            if i < b.count && b[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue())
                skipWhitespace()
                guard i < b.count else { throw error("array not closed (expected ',' or ']')") }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if b[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                throw error("expected ',' or ']', found \(describeCurrent())")
            }
        }

        mutating func parseNumber() throws(SyntaxError) -> String {
            let start = i
            func digits(_ p: inout Parser) -> Int {
                let s = p.i
                while p.i < p.b.count, p.b[p.i] >= 0x30, p.b[p.i] <= 0x39 { p.i += 1 }
                return p.i - s
            }
            if b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw error("invalid number") }
            if b[i] == UInt8(ascii: "0") {
                i += 1
                if i < b.count, b[i] >= 0x30, b[i] <= 0x39 { throw error("invalid number (leading zero)") }
            } else {
                _ = digits(&self)
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard digits(&self) > 0 else { throw error("invalid number (no digits after '.')") }
            }
            if i < b.count, b[i] | 0x20 == UInt8(ascii: "e") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { throw error("invalid number (no digits in exponent)") }
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }

        mutating func parseString() throws(SyntaxError) -> String {
            i += 1  // opening quote
            let start = i
            // Fast path: no escapes, so the bytes are the string.
            while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\"), b[i] >= 0x20 { i += 1 }
            if i < b.count, b[i] == UInt8(ascii: "\"") {
                defer { i += 1 }
                return String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            }
            var out = Array(b[start..<i])
            while true {
                guard i < b.count else { throw error("string not closed") }
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if c < 0x20 { throw error("control character in a string (escape it, e.g. \\n)") }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    i += 1
                    continue
                }
                i += 1
                guard i < b.count else { throw error("string not closed") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code), i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    if (0xD800...0xDFFF).contains(code) && options.loneSurrogates == .reject {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    // A lone surrogate cannot live in a Swift string: it becomes U+FFFD, as in most decoders.
                    UTF8.encode(Unicode.Scalar(code) ?? "\u{FFFD}") { out.append($0) }
                default:
                    i -= 1
                    throw error("invalid escape \\\(Character(Unicode.Scalar(e)))")
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard i + 4 <= b.count else { throw error("invalid \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw error("invalid \\u escape")
                }
                value = value << 4 | d
                i += 1
            }
            return value
        }
    }
}

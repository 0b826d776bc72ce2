/// Byte-level helpers shared by the readers: UTF-8 validation, byte-order mark, line numbers.
/// The readers work on the file's bytes rather than on `Character`s: grapheme breaking over a 2 MB
/// file costs far more than the whole parse.
enum ByteScanning {
    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Length of a leading UTF-8 byte-order mark (3) or 0.
    static func bomLength(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
    }

    /// Offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode 15, table
    /// 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or nil when all are valid.
    static func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            var need = 0
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0:
                need = 2
                lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED:
                need = 2
                hi = 0x9F
            case 0xF0:
                need = 3
                lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4:
                need = 3
                hi = 0x8F
            default: return i
            }
            guard i + need < n, b[i + 1] >= lo, b[i + 1] <= hi else { return i }
            var k = 2
            while k <= need {
                guard b[i + k] & 0xC0 == 0x80 else { return i }
                k += 1
            }
            i += need + 1
        }
        return nil
    }

    /// 1-based physical line of byte `offset`: LF, CRLF and a lone CR each end a line.
    static func line(ofOffset offset: Int, in b: UnsafeBufferPointer<UInt8>) -> Int {
        var line = 1
        var i = 0
        while i < offset {
            if b[i] == 0x0A || (b[i] == 0x0D && (i + 1 >= b.count || b[i + 1] != 0x0A)) { line += 1 }
            i += 1
        }
        return line
    }

    /// Whether the bytes are only ASCII whitespace.
    static func isBlank(_ b: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        var i = start
        while i < end {
            switch b[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return false
            }
        }
        return true
    }
}

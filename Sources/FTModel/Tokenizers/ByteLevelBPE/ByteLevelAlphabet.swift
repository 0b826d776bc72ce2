/// GPT-2's reversible byte ↔ character mapping (`bytes_to_unicode` in GPT-2's `encoder.py`, the
/// `ByteLevel` pre-tokenizer/decoder of Hugging Face `tokenizers`): every byte becomes a printable
/// character, so a byte-level BPE vocabulary is a list of ordinary strings. Printable Latin-1 bytes
/// (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) map to themselves, the other 68 to U+0100… in byte order (space → `Ġ`,
/// newline → `Ċ`).
enum ByteLevelAlphabet {
    /// The character of each byte, indexed by byte value. [256]
    static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte of each alphabet character, `nil` for characters outside the alphabet.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var map: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in characters.enumerated() { map[scalar] = UInt8(byte) }
        return map
    }()

    /// The raw bytes of a token string, or `nil` when one of its characters is not in the alphabet
    /// (an added token such as `<|im_start|>` written outside it; HF then uses its UTF-8 bytes).
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let b = bytes[scalar] else { return nil }
            out.append(b)
        }
        return out
    }
}

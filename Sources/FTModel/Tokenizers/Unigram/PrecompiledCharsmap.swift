import Foundation

/// SentencePiece's compiled normalisation rules (`precompiled_charsmap` of a `tokenizer.json`
/// `Precompiled` normalizer, `normalizer_spec.precompiled_charsmap` of a `.model` file; XLM-R's is
/// `nmt_nfkc`): a little-endian `UInt32` byte size of the trie, the trie — a darts-clone double
/// array of `UInt32` units over UTF-8 bytes whose values point into the blob —, then the blob of
/// NUL-terminated replacement strings.
///
/// Applied as Hugging Face `tokenizers` applies it (`Precompiled::normalize`): text is cut into
/// extended grapheme clusters; a cluster shorter than 6 UTF-8 bytes whose bytes begin with a key
/// is replaced whole by that key's string; otherwise each character is looked up alone. The first
/// (shortest) key that prefixes the bytes is the one used, as `spm_precompiled` takes
/// `common_prefix_search(...)[0]`.
struct PrecompiledCharsmap: Sendable {
    /// Double-array units: bit 8 "has leaf", bits 10+ the offset (shifted by 8 more when bit 9),
    /// low byte + bit 31 the label; a leaf unit's low 31 bits are its value.
    let units: [UInt32]
    /// The replacement strings, NUL-terminated, addressed by byte offset.
    let blob: [UInt8]

    /// - Throws: a message (the caller names the file) when the sizes do not fit or the blob is
    ///   not UTF-8.
    init(_ data: [UInt8]) throws {
        guard data.count >= 4 else { throw CharsmapError("precompiled_charsmap has \(data.count) bytes, fewer than its 4-byte header") }
        let trieBytes = Int(UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24)
        guard trieBytes % 4 == 0, trieBytes <= data.count - 4, trieBytes > 0 else {
            throw CharsmapError("precompiled_charsmap's trie size \(trieBytes) does not fit its \(data.count) bytes in whole 4-byte units")
        }
        var units = [UInt32](repeating: 0, count: trieBytes / 4)
        for i in 0..<units.count {
            let b = 4 + 4 * i
            units[i] = UInt32(data[b]) | UInt32(data[b + 1]) << 8 | UInt32(data[b + 2]) << 16 | UInt32(data[b + 3]) << 24
        }
        self.units = units
        blob = Array(data[(4 + trieBytes)...])
        guard String(validating: blob, as: UTF8.self) != nil else { throw CharsmapError("precompiled_charsmap's strings are not UTF-8") }
    }

    struct CharsmapError: Error {
        let message: String
        init(_ m: String) { message = m }
    }

    @inline(__always) private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The replacement of the first key that prefixes `bytes` (darts' common prefix search, which
    /// stops at a NUL byte), or nil.
    func replacement(_ bytes: [UInt8]) -> [Unicode.Scalar]? {
        guard !units.isEmpty else { return nil }
        var pos = Self.offset(units[0])
        for c in bytes {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos < units.count else { return nil }
            let unit = units[pos]
            if unit & ((1 << 31) | 0xFF) != UInt32(c) { return nil }
            pos ^= Self.offset(unit)
            if (unit >> 8) & 1 == 1 {
                guard pos < units.count else { return nil }
                return string(at: Int(units[pos] & ((1 << 31) - 1)))
            }
        }
        return nil
    }

    private func string(at start: Int) -> [Unicode.Scalar]? {
        guard start <= blob.count else { return nil }
        var end = start
        while end < blob.count && blob[end] != 0 { end += 1 }
        return String(decoding: blob[start..<end], as: UTF8.self).unicodeScalars.map { $0 }
    }

    /// Normalises `text` in place, keeping alignments as `tokenizers` does (`replace` in
    /// precompiled.rs: same length keeps each alignment; a longer replacement inserts its last
    /// characters; a shorter one makes its last character remove the rest — or, when the
    /// replacement is empty, the character before).
    func normalize(_ text: inout AlignedText) {
        guard !text.isEmpty else { return }
        var items: [(Unicode.Scalar, Int)] = []
        items.reserveCapacity(text.count)
        var modified = false
        func replace(_ old: Int, _ new: [Unicode.Scalar]) {
            modified = true
            items += new.map { ($0, 0) }
            let diff = new.count - old
            if diff > 0 {
                for k in (items.count - diff)..<items.count { items[k].1 = 1 }
            } else if diff < 0, !items.isEmpty {
                items[items.count - 1].1 += diff
            }
        }
        var i = 0
        for grapheme in String(String.UnicodeScalarView(text.scalars)) {
            let scalars = Array(grapheme.unicodeScalars)
            defer { i += scalars.count }
            let bytes = Array(String(grapheme).utf8)
            if bytes.count < 6, let norm = replacement(bytes) {
                replace(scalars.count, norm)
                continue
            }
            for s in scalars {
                if let norm = replacement(Array(String(s).utf8)) {
                    replace(1, norm)
                } else {
                    items.append((s, 0))
                }
            }
        }
        if modified { text.transform(0..<text.count, items) }
    }
}

/// How text is cut into words before byte-level BPE merges them, as Hugging Face `tokenizers`'
/// pre-tokenizers (and llama.cpp's `tokenizer.ggml.pre` names) do for the supported models.
///
/// Both forms end with `ByteLevel(add_prefix_space=false, use_regex=true)`, GPT-2's regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, here a hand-written
/// scanner over Unicode scalars (case-sensitive contractions, `\s` = Unicode White_Space as
/// Oniguruma has it). `\p{L}`/`\p{N}` are the general categories L*/N* of Swift's Unicode tables,
/// checked against the ones `tokenizers` uses on every code point (`unicode_classes.json`).
public enum BPEPreTokenizer: String, Sendable, Equatable, CaseIterable {
    /// GPT-2's regex alone (`tokenizer.json`: `ByteLevel`; GGUF: `gpt2`).
    case byteLevel
    /// Every numeric character split off alone first, then GPT-2's regex on the rest
    /// (`tokenizer.json`: `Sequence[Digits(individual_digits=true), ByteLevel]`; GGUF: `smollm`,
    /// `starcoder`): SmolLM2's.
    case digitsThenByteLevel

    /// The GGUF `tokenizer.ggml.pre` names of each form (llama.cpp's). Not "default": llama.cpp's
    /// default BPE pre-tokenizer is a different set of regexes, and transformers ignores the name.
    static let ggufNames: [String: BPEPreTokenizer] = [
        "gpt2": .byteLevel,
        "smollm": .digitsThenByteLevel, "starcoder": .digitsThenByteLevel,
    ]

    /// The name written to GGUF's `tokenizer.ggml.pre`.
    public var ggufName: String {
        switch self {
        case .byteLevel: return "gpt2"
        case .digitsThenByteLevel: return "smollm"
        }
    }

    /// Calls `body` with the ranges of the words of `text[range]`, in order, covering it.
    func forEachWord(in text: [Unicode.Scalar], range: Range<Int>, _ body: (Range<Int>) -> Void) {
        switch self {
        case .byteLevel:
            Self.gpt2Words(text, range, body)
        case .digitsThenByteLevel:
            var start = range.lowerBound
            for i in range where ScalarClass.isNumeric(text[i]) {
                if start < i { Self.gpt2Words(text, start..<i, body) }
                body(i..<(i + 1))
                start = i + 1
            }
            if start < range.upperBound { Self.gpt2Words(text, start..<range.upperBound, body) }
        }
    }

    /// GPT-2's regex, alternative by alternative, leftmost match first.
    private static func gpt2Words(_ s: [Unicode.Scalar], _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        let end = range.upperBound
        var i = range.lowerBound
        @inline(__always) func cls(_ k: Int) -> ScalarClass { ScalarClass.of(s[k]) }
        @inline(__always) func run(from k: Int, _ c: ScalarClass) -> Int {
            var j = k
            while j < end && cls(j) == c { j += 1 }
            return j
        }
        while i < end {
            let c = s[i]
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == "'" && i + 1 < end {
                let n1 = s[i + 1]
                if n1 == "s" || n1 == "t" || n1 == "m" || n1 == "d" {
                    body(i..<(i + 2))
                    i += 2
                    continue
                }
                if i + 2 < end {
                    let n2 = s[i + 2]
                    if (n1 == "r" && n2 == "e") || (n1 == "v" && n2 == "e") || (n1 == "l" && n2 == "l") {
                        body(i..<(i + 3))
                        i += 3
                        continue
                    }
                }
            }
            let k = cls(i)
            //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ with the optional leading space
            if c == " " && i + 1 < end {
                let next = cls(i + 1)
                if next != .whitespace {
                    let j = run(from: i + 1, next)
                    body(i..<j)
                    i = j
                    continue
                }
            }
            if k != .whitespace {
                let j = run(from: i, k)
                body(i..<j)
                i = j
                continue
            }
            // \s+(?!\S) | \s+
            let j = run(from: i, .whitespace)
            if j == end || j - i == 1 {
                body(i..<j)
                i = j
            } else {
                body(i..<(j - 1))  // leave the last space to start the next word
                i = j - 1
            }
        }
    }
}

/// The classes GPT-2's regex tells apart.
enum ScalarClass: UInt8 {
    case letter, number, whitespace, other

    /// The class of every Basic Multilingual Plane scalar in the low 2 bits, 4 when Rust's `is_numeric`
    /// holds (the property look-ups are the tokenizer's hot spot otherwise). [65536]
    private static let bmp: [UInt8] = (0..<0x10000).map { v in
        guard let s = Unicode.Scalar(UInt32(v)) else { return ScalarClass.other.rawValue }  // surrogates
        return computed(s).rawValue | (computedIsNumeric(s) ? 4 : 0)
    }

    @inline(__always) static func of(_ s: Unicode.Scalar) -> ScalarClass {
        if s.value < 0x10000 { return ScalarClass(rawValue: bmp[Int(s.value)] & 3)! }
        return computed(s)
    }

    @inline(__always) static func isNumeric(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x10000 { return bmp[Int(s.value)] & 4 != 0 }
        return computedIsNumeric(s)
    }

    /// Rust's `char::is_numeric` (N* categories), which `tokenizers`' `Digits` step uses: newer tables
    /// than its regex's (Unicode 17 like Swift's).
    static func computedIsNumeric(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The Unicode version of the tables of `tokenizers`' Oniguruma regex (16.0; Swift 6.3 has 17.0):
    /// characters assigned later are unassigned there (`other`), whatever Swift's newer tables say.
    static let huggingFaceUnicodeVersion = (major: 16, minor: 0)

    /// The class from Swift's Unicode tables, cut at ``huggingFaceUnicodeVersion``.
    static func computed(_ s: Unicode.Scalar) -> ScalarClass {
        let p = s.properties
        if p.isWhitespace { return .whitespace }
        if let age = p.age, (age.major, age.minor) > huggingFaceUnicodeVersion { return .other }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }
}

/// Finds e-mail addresses, URLs and IP addresses (IPv4 with octets up to 255, IPv6 in full or
/// `::`-compressed form, with an optional IPv4 tail).
enum NetworkIdentifiers {
    private static let urlPrefixes: [[Unicode.Scalar]] = ["https://", "http://", "ftp://", "www."].map { Array($0.unicodeScalars) }
    private static let urlStops: Set<Unicode.Scalar> = ["<", ">", "\"", "'", "`", "{", "}", "|", "\\", "^"]
    private static let urlTrailing: Set<Unicode.Scalar> = [".", ",", ";", ":", "!", "?", ")", "]", "'", "\""]
    private static let emailLocal: Set<Unicode.Scalar> = [".", "_", "%", "+", "-"]

    static func findURLs(in text: [Unicode.Scalar], into spans: inout [IdentifierSpan]) {
        var i = 0
        let n = text.count
        while i < n {
            guard !Scalars.wordAt(text, i - 1), let prefix = urlPrefixes.first(where: { hasPrefix(text, at: i, $0) }) else {
                i += 1
                continue
            }
            var e = i + prefix.count
            while e < n, text[e].isASCII, text[e].value > 0x20, text[e].value != 0x7F, !urlStops.contains(text[e]) { e += 1 }
            while e > i + prefix.count, urlTrailing.contains(text[e - 1]) {
                // Keep a closing parenthesis that the URL itself opened (Wikipedia links).
                if text[e - 1] == ")", text[i..<e].filter({ $0 == "(" }).count >= text[i..<e].filter({ $0 == ")" }).count { break }
                e -= 1
            }
            guard e - i > prefix.count + 2, text[(i + prefix.count)..<e].contains(where: Scalars.isASCIIAlnum) else {
                i += 1
                continue
            }
            spans.append(IdentifierSpan(kind: .url, start: i, end: e))
            i = e
        }
    }

    private static func hasPrefix(_ text: [Unicode.Scalar], at i: Int, _ prefix: [Unicode.Scalar]) -> Bool {
        guard i + prefix.count <= text.count else { return false }
        for (k, p) in prefix.enumerated() {
            let c = text[i + k]
            let lower = Scalars.isASCIILetter(c) ? Unicode.Scalar(c.value | 0x20)! : c
            if lower != p { return false }
        }
        return true
    }

    static func findEmails(in text: [Unicode.Scalar], into spans: inout [IdentifierSpan]) {
        let n = text.count
        var a = 0
        while a < n {
            guard text[a] == "@" else {
                a += 1
                continue
            }
            var s = a
            while s > 0, Scalars.isASCIIAlnum(text[s - 1]) || emailLocal.contains(text[s - 1]) { s -= 1 }
            while s < a, text[s] == "." { s += 1 }
            var e = a + 1
            while e < n, Scalars.isASCIIAlnum(text[e]) || text[e] == "." || text[e] == "-" { e += 1 }
            while e > a + 1, text[e - 1] == "." || text[e - 1] == "-" { e -= 1 }
            let domain = String(String.UnicodeScalarView(text[(a + 1)..<e]))
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            if s < a, labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }), let tld = labels.last, tld.count >= 2,
                tld.unicodeScalars.allSatisfy(Scalars.isASCIILetter)
            {
                spans.append(IdentifierSpan(kind: .email, start: s, end: e))
                a = e
            } else {
                a += 1
            }
        }
    }

    static func findIPv4(in text: [Unicode.Scalar], into spans: inout [IdentifierSpan]) {
        let n = text.count
        var i = 0
        while i < n {
            guard Scalars.isDigit(text[i]), !Scalars.wordAt(text, i - 1), i == 0 || text[i - 1] != "." else {
                i += 1
                continue
            }
            var j = i
            var octets = 0
            var ok = true
            while octets < 4 {
                let s = j
                var value = 0
                while j < n, Scalars.isDigit(text[j]), j - s < 3 {
                    value = value * 10 + Int(text[j].value - 0x30)
                    j += 1
                }
                if j == s || value > 255 || (j - s > 1 && text[s] == "0") {
                    ok = false
                    break
                }
                octets += 1
                if octets < 4 {
                    guard j < n, text[j] == "." else {
                        ok = false
                        break
                    }
                    j += 1
                }
            }
            let followed = Scalars.wordAt(text, j) || (j + 1 < n && text[j] == "." && Scalars.isDigit(text[j + 1]))
            if ok && !followed {
                spans.append(IdentifierSpan(kind: .ip, start: i, end: j))
                i = j
            } else {
                i += 1
                while i < n && Scalars.isDigit(text[i]) { i += 1 }
            }
        }
    }

    static func findIPv6(in text: [Unicode.Scalar], into spans: inout [IdentifierSpan]) {
        let n = text.count
        var i = 0
        while i < n {
            let c = text[i]
            guard Scalars.isHex(c) || c == ":", !Scalars.wordAt(text, i - 1), i == 0 || text[i - 1] != ":" else {
                i += 1
                continue
            }
            var e = i
            while e < n, Scalars.isHex(text[e]) || text[e] == ":" || text[e] == "." { e += 1 }
            while e > i, text[e - 1] == "." { e -= 1 }
            let candidate = String(String.UnicodeScalarView(text[i..<e]))
            if !Scalars.wordAt(text, e), isIPv6(candidate) {
                spans.append(IdentifierSpan(kind: .ip, start: i, end: e))
                i = e
            } else {
                i = max(e, i + 1)
                while i < n && Scalars.isWordCharacter(text[i]) { i += 1 }
            }
        }
    }

    /// Whether `s` is an IPv6 address: eight groups of 1-4 hex digits, or fewer around one `::`;
    /// the last two groups may be an IPv4 address. A compressed form needs three groups, or two with
    /// five hex digits (`fe80::1`), or is `::1`, so `a::b` in program text is not an address.
    public static func isIPv6(_ s: String) -> Bool {
        guard s.contains(":") else { return false }
        if s == "::1" { return true }
        let halves = s.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        var groups = 0
        var hexDigits = 0
        for (h, half) in halves.enumerated() {
            if half.isEmpty { continue }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (p, part) in parts.enumerated() {
                if part.contains(".") {
                    // An IPv4 tail: only as the very last part.
                    guard h == halves.count - 1, p == parts.count - 1, isIPv4(String(part)) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.count), part.unicodeScalars.allSatisfy(Scalars.isHex) else { return false }
                    groups += 1
                    hexDigits += part.count
                }
            }
        }
        return halves.count == 2 ? groups <= 7 && (groups >= 3 || (groups == 2 && hexDigits >= 5)) : groups == 8
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { p in
                (1...3).contains(p.count) && p.unicodeScalars.allSatisfy(Scalars.isDigit) && Int(p)! <= 255 && (p.count == 1 || p.first != "0")
            }
    }
}

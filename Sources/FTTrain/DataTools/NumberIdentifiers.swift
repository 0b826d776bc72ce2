/// Finds the identifiers written with digits — resident ID numbers, payment cards and telephone
/// numbers — in one pass over the text.
///
/// The text is cut into *number runs*: digit groups joined by short separators (`space`, `-`, `.`,
/// `(`, `)`), perhaps opened by `+` or `(`. Inside a run the longest sequence of whole groups that is
/// an identifier is taken, first from the run's start and then from each later group, so
/// `010-62345678 13812345678` is a landline and a mobile, and `6222 0200 1234 5678` one card. A run
/// glued to a letter or digit (`abc13812345678`, `x1234`) is not a number on its own and is left alone.
enum NumberIdentifiers {
    struct Group {
        var start: Int
        var end: Int
        var digits: String
        /// The 18th character was `X`/`x` (only possible in a single 17-digit group).
        var hasX: Bool
    }

    private static let separators: Set<Unicode.Scalar> = [" ", "-", ".", "(", ")"]
    /// Longest separator between two groups (` - `, `) `).
    private static let maximumSeparator = 3
    /// Most groups one identifier spans (`+86 10 8888 6666` is 4, a card in fours up to 5).
    private static let maximumGroups = 6

    static func find(in text: [Unicode.Scalar], into spans: inout [IdentifierSpan]) {
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            let opensRun = Scalars.isDigit(c) || ((c == "+" || c == "(") && i + 1 < n && Scalars.isDigit(text[i + 1]))
            guard opensRun, !Scalars.wordAt(text, i - 1) else {
                i += 1
                continue
            }
            var (groups, gaps, end) = readRun(text, from: Scalars.isDigit(c) ? i : i + 1)
            // A run glued to a letter or digit at its end loses its last group.
            if Scalars.wordAt(text, end) {
                groups.removeLast()
                if !gaps.isEmpty { gaps.removeLast() }
            }
            classify(groups: groups, gaps: gaps, text: text, runStart: i, plus: c == "+", into: &spans)
            i = max(end, i + 1)
            // Skip the rest of a glued token.
            while i < n && Scalars.isWordCharacter(text[i]) { i += 1 }
        }
    }

    /// The groups and the separators between them from `start` (a digit); `end` is after the last group.
    private static func readRun(_ text: [Unicode.Scalar], from start: Int) -> ([Group], [String], Int) {
        var groups: [Group] = []
        var gaps: [String] = []
        var i = start
        let n = text.count
        while true {
            let groupStart = i
            var digits = ""
            while i < n && Scalars.isDigit(text[i]) {
                digits.unicodeScalars.append(text[i])
                i += 1
            }
            var hasX = false
            if digits.count == 17 && i < n && (text[i] == "X" || text[i] == "x") {
                hasX = true
                i += 1
            }
            groups.append(Group(start: groupStart, end: i, digits: digits, hasX: hasX))
            // A separator counts only when a digit follows it.
            var j = i
            var gap = ""
            while j < n && j - i < maximumSeparator && separators.contains(text[j]) {
                gap.unicodeScalars.append(text[j])
                j += 1
            }
            guard !gap.isEmpty, j < n, Scalars.isDigit(text[j]), !hasX else { return (groups, gaps, i) }
            gaps.append(gap)
            i = j
        }
    }

    private static func classify(
        groups: [Group], gaps: [String], text: [Unicode.Scalar], runStart: Int, plus: Bool,
        into spans: inout [IdentifierSpan]
    ) {
        // A number written like a card (groups of four, one separator) is a card or nothing: a
        // mistyped card must not yield a "phone" from its last groups.
        if !plus, isCardShaped(groups, gaps), kind(of: groups[...], gaps: gaps[...], plus: false) != .card { return }
        var i = 0
        while i < groups.count {
            var matched = false
            for j in stride(from: min(groups.count - 1, i + maximumGroups - 1), through: i, by: -1) {
                let plusHere = plus && i == 0
                guard let kind = kind(of: groups[i...j], gaps: gaps[i..<j], plus: plusHere) else { continue }
                let start = i == 0 ? runStart : groups[i].start
                spans.append(IdentifierSpan(kind: kind, start: start, end: groups[j].end))
                i = j + 1
                matched = true
                break
            }
            if !matched { i += 1 }
        }
    }

    /// Three or more groups, all of four digits but the last (1-4), 13-19 digits, one separator kind.
    static func isCardShaped(_ groups: [Group], _ gaps: [String]) -> Bool {
        let n = groups.reduce(0) { $0 + $1.digits.count }
        return groups.count >= 3 && (13...19).contains(n) && groups.dropLast().allSatisfy { $0.digits.count == 4 }
            && Set(gaps).count == 1 && (gaps[0] == " " || gaps[0] == "-")
    }

    /// Whether 18 digits have the shape of a resident ID (a birth date 1900-2099 at 6..<14) — a
    /// mistyped ID is not taken for a card.
    static func hasResidentIDShape(_ digits: String) -> Bool {
        let d = Array(digits.utf8).map { Int($0) - 48 }
        guard d.count == 18 else { return false }
        let year = d[6...9].reduce(0) { $0 * 10 + $1 }
        let month = d[10] * 10 + d[11], day = d[12] * 10 + d[13]
        return (1900...2099).contains(year) && (1...12).contains(month) && (1...31).contains(day)
    }

    /// What the groups are, if anything: a resident ID (one group), a card, or a phone number.
    static func kind(of groups: ArraySlice<Group>, gaps: ArraySlice<String>, plus: Bool) -> IdentifierKind? {
        if groups.count == 1, let g = groups.first {
            let text = g.digits + (g.hasX ? "X" : "")
            if (text.count == 18 || text.count == 15) && ChineseResidentID.isValid(text) { return .id }
            if g.hasX { return nil }
        }
        let digits = groups.map(\.digits).joined()
        let n = digits.count
        if !plus, n >= 13, n <= 19, !digits.hasPrefix("0"), gaps.allSatisfy({ $0 == " " || $0 == "-" }),
            Set(gaps).count <= 1, Luhn.isValid(digits), !(groups.count == 1 && hasResidentIDShape(digits))
        {
            return .card
        }
        if PhoneNumbers.isPhone(groups: groups.map(\.digits), plus: plus) { return .phone }
        return nil
    }
}

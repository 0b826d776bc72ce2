/// Which digit sequences are telephone numbers: Chinese mobiles (`1[3-9]` + 9 digits), Chinese
/// landlines (`0` + 2-3-digit area code + 7-8 digits) and international numbers written with `+`
/// (or `00`) and a country code.
///
/// The input is a number as its digit groups (the text between separators), so formatting can be
/// judged: `138 1234 5678`, `(010) 8888-6666`, `+86 138-1234-5678`, `0086 13812345678`,
/// `+44 20 7946 0958`.
public enum PhoneNumbers {
    /// Whether 11 digits are a Chinese mobile number (1, then 3-9, then nine digits).
    public static func isChineseMobile(_ digits: String) -> Bool {
        let d = Array(digits.utf8)
        return d.count == 11 && d[0] == UInt8(ascii: "1") && d[1] >= UInt8(ascii: "3") && d[1] <= UInt8(ascii: "9")
    }

    /// Whether the groups (digits only, in order) form a phone number; `plus` says the number was
    /// written with a leading `+`.
    public static func isPhone(groups: [String], plus: Bool) -> Bool {
        let digits = groups.joined()
        let n = digits.count
        guard n >= 7 else { return false }
        if plus {
            if digits.hasPrefix("86") { return isChineseNational(String(digits.dropFirst(2)), groups: groups, droppedPrefix: 2) }
            // E.164: a country code and at most 15 digits in all.
            return n >= 8 && n <= 15
        }
        if digits.hasPrefix("0086") { return isChineseNational(String(digits.dropFirst(4)), groups: groups, droppedPrefix: 4) }
        if digits.hasPrefix("00") {
            // International access prefix 00 + country code + number.
            return groups.count >= 2 && groups[0].count >= 2 && n >= 10 && n <= 17
        }
        if isChineseMobile(digits) { return isMobileGrouping(groups) }
        return isLandline(groups)
    }

    /// A national number after +86 / 0086: a mobile, or an area code (without its 0) and 7-8 digits.
    private static func isChineseNational(_ national: String, groups: [String], droppedPrefix: Int) -> Bool {
        if isChineseMobile(national) { return true }
        guard let first = national.first, first != "0", first != "1" || national.hasPrefix("10") else { return false }
        return national.count >= 9 && national.count <= 11
    }

    /// A mobile written whole, 3-4-4, 3-8 or 7-4.
    private static func isMobileGrouping(_ groups: [String]) -> Bool {
        let sizes = groups.map(\.count)
        return sizes == [11] || sizes == [3, 4, 4] || sizes == [3, 8] || sizes == [7, 4]
    }

    /// `0` + area code (3-4 digits with the 0) + 7-8 subscriber digits, whole or as area + number
    /// (the number perhaps itself split 3-4 or 4-4).
    private static func isLandline(_ groups: [String]) -> Bool {
        let digits = groups.joined()
        guard digits.hasPrefix("0"), !digits.hasPrefix("00"), digits.count >= 10, digits.count <= 12 else { return false }
        if groups.count == 1 { return true }
        let area = groups[0].count
        guard area == 3 || area == 4 else { return false }
        let rest = digits.count - area
        guard rest == 7 || rest == 8 else { return false }
        return groups.dropFirst().allSatisfy { $0.count >= 3 }
    }
}

/// Mainland-China resident identity numbers (GB 11643-1999): the 18-digit form with its ISO 7064
/// MOD 11-2 check character (`0`-`9` or `X`) and the older 15-digit form, both with a valid birth date.
public enum ChineseResidentID {
    /// ISO 7064 MOD 11-2 weights of the first 17 digits (2^(17-i) mod 11).
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    /// Check character for each value of the weighted sum mod 11.
    static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// The check character of the first 17 digits, or nil when they are not 17 ASCII digits.
    public static func checkCharacter(of first17: String) -> Character? {
        let digits = first17.compactMap(\.wholeNumberValue)
        guard digits.count == 17, first17.allSatisfy(\.isASCII) else { return nil }
        var sum = 0
        for (d, w) in zip(digits, weights) { sum += d * w }
        return checkCharacters[sum % 11]
    }

    /// Whether `text` (exactly the number, no separators) is a valid resident ID: 18 characters with
    /// a correct check character (`x` accepted for `X`) and a real birth date (YYYYMMDD at 6..<14,
    /// year 1900 or later), or 15 digits with a real date (YYMMDD at 6..<12, year 19YY).
    public static func isValid(_ text: String) -> Bool {
        let chars = Array(text.uppercased())
        guard chars.allSatisfy(\.isASCII) else { return false }
        if chars.count == 18 {
            guard chars[0..<17].allSatisfy(\.isNumber), chars[17].isNumber || chars[17] == "X" else { return false }
            guard checkCharacter(of: String(chars[0..<17])) == chars[17] else { return false }
            guard let y = number(chars[6..<10]), let m = number(chars[10..<12]), let d = number(chars[12..<14]) else { return false }
            return y >= 1900 && y <= 2100 && isDate(year: y, month: m, day: d)
        }
        if chars.count == 15 {
            guard chars.allSatisfy(\.isNumber) else { return false }
            guard let y = number(chars[6..<8]), let m = number(chars[8..<10]), let d = number(chars[10..<12]) else { return false }
            return isDate(year: 1900 + y, month: m, day: d)
        }
        return false
    }

    private static func number(_ chars: ArraySlice<Character>) -> Int? {
        var value = 0
        for c in chars {
            guard let d = c.wholeNumberValue, c.isASCII else { return nil }
            value = value * 10 + d
        }
        return value
    }

    /// Whether year-month-day is a day of the Gregorian calendar (leap years included).
    static func isDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }
}

/// The Luhn (mod 10) check that payment card numbers carry in their last digit.
public enum Luhn {
    /// Whether `digits` (0-9 values, most significant first) pass the Luhn check: doubling every
    /// second digit from the right (minus 9 above 9), the sum is a multiple of 10.
    public static func isValid(_ digits: [Int]) -> Bool {
        guard !digits.isEmpty else { return false }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            if i % 2 == 1 {
                let doubled = d * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += d
            }
        }
        return sum % 10 == 0
    }

    /// Whether the ASCII digits of `text` pass the Luhn check (any other character fails).
    public static func isValid(_ text: String) -> Bool {
        var digits: [Int] = []
        for c in text.unicodeScalars {
            guard c.value >= 0x30 && c.value <= 0x39 else { return false }
            digits.append(Int(c.value - 0x30))
        }
        return isValid(digits)
    }

    /// The digit that, appended to `digits`, makes them pass the check (for generating test cards).
    public static func checkDigit(for digits: [Int]) -> Int {
        for d in 0...9 where isValid(digits + [d]) { return d }
        return 0
    }
}

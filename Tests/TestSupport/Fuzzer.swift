import FTCore
import Foundation
import XCTest

/// AFL-style mutations of seed inputs, driven by a `SeededRNG` so every run tries the same inputs
/// (a failure found once is found again, and its case number identifies it).
///
/// `next()` picks a seed and stacks 1, 2, 4 or 8 mutations on it: bit flips, bytes set to values
/// parsers treat specially, random bytes, small arithmetic on a byte, span insert / delete /
/// duplicate (repeated, to build deep nesting and long runs), truncation, splicing with another seed,
/// decimal numbers replaced by huge, negative, zero or malformed ones, and dictionary tokens. With
/// `text` set, text-format operators too: quotes, delimiters, line breaks, invalid UTF-8, a BOM,
/// swapped lines.
public struct Mutator {
    public var rng: SeededRNG
    public let seeds: [[UInt8]]
    /// Format keywords inserted or overwritten by one of the operators (`"dtype"`, `"label"`, ...).
    public let dictionary: [[UInt8]]
    public let text: Bool
    /// Inputs never grow past this many bytes (the stacked duplications would otherwise explode).
    public let maxLength: Int
    /// Index of the seed the last `next()` started from.
    public private(set) var lastSeed = 0

    public init(seed: UInt64, seeds: [[UInt8]], dictionary: [String] = [], text: Bool, maxLength: Int = 1 << 16) {
        precondition(!seeds.isEmpty, "a mutator needs at least one seed")
        rng = SeededRNG(seed: seed)
        self.seeds = seeds
        self.dictionary = dictionary.map { Array($0.utf8) }
        self.text = text
        self.maxLength = maxLength
    }

    /// Bytes a parser gives meaning to (AFL's "interesting" values plus JSON/CSV punctuation).
    static let interestingBytes: [UInt8] = [
        0x00, 0xFF, 0x7F, 0x80, 0x01, 0x20, 0x09, 0x0A, 0x0D,
        UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "}"),
        UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","),
        UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "-"),
        UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "<"),
        UInt8(ascii: "0"), UInt8(ascii: "9"), UInt8(ascii: "e"),
    ]
    /// Numbers that break size computations and integer conversions.
    static let interestingNumbers: [String] = [
        "0", "-1", "-0", "1", "2", "1e12", "1000000000000", "99999999999999999999", "-99999999999999999999",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "4294967295", "4294967296", "2147483648", "65536", "1.5", "1e400", "-1e400", "1e-400", "NaN", "0x10",
        "00", "1.", ".5", "1e", "3037000500", "4611686018427387904",
    ]
    /// Byte sequences that are not UTF-8: a lone continuation byte, an overlong NUL, a surrogate, a
    /// scalar above U+10FFFF, a truncated sequence, bytes that never occur.
    static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xE2, 0x82], [0xFF], [0xFE], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ]
    static let textInserts: [String] = [
        "\"", "\"\"", ",", "\t", "\n", "\r", "\r\n", "\n\n", " ", "\\", "\\u",
        "\\ud800", "\\udc00", "\\u0000", "'", "#", "&amp;", "<br>", "<script>",
        "\u{FEFF}", "\u{0}", "é", "不", "😡", "\u{301}", "[CLS]", "##",
    ]

    /// The next mutated input.
    public mutating func next() -> [UInt8] {
        lastSeed = pick(seeds.count)
        var data = seeds[lastSeed]
        let rounds = 1 << pick(4)
        for _ in 0..<rounds {
            mutate(&data)
            if data.count > maxLength { data.removeSubrange(maxLength...) }
        }
        return data
    }

    mutating func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }

    /// A position in `0...count` (insertion point) or `0..<count` (existing byte).
    private mutating func position(_ count: Int, inclusive: Bool = false) -> Int { pick(inclusive ? count + 1 : count) }

    /// A span length, mostly short.
    private mutating func spanLength(_ limit: Int) -> Int {
        guard limit > 0 else { return 0 }
        let cap = [1, 4, 16, 64, 1024][pick(5)]
        return 1 + pick(min(limit, cap))
    }

    public mutating func mutate(_ data: inout [UInt8]) {
        let operators = text ? 16 : 12
        switch pick(operators) {
        case 0:  // bit flip
            guard !data.isEmpty else {
                data.append(0)
                return
            }
            data[position(data.count)] ^= 1 << UInt8(pick(8))
        case 1:  // interesting byte
            guard !data.isEmpty else {
                data.append(Self.interestingBytes[pick(Self.interestingBytes.count)])
                return
            }
            data[position(data.count)] = Self.interestingBytes[pick(Self.interestingBytes.count)]
        case 2:  // random byte
            guard !data.isEmpty else {
                data.append(UInt8(truncatingIfNeeded: rng.next()))
                return
            }
            data[position(data.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 3:  // byte arithmetic
            guard !data.isEmpty else { return }
            let i = position(data.count)
            let delta = UInt8(1 + pick(16))
            data[i] = pick(2) == 0 ? data[i] &+ delta : data[i] &- delta
        case 4:  // delete a span
            guard !data.isEmpty else { return }
            let start = position(data.count)
            data.removeSubrange(start..<start + spanLength(data.count - start))
        case 5:  // copy a span elsewhere
            guard !data.isEmpty else { return }
            let start = position(data.count)
            let span = Array(data[start..<start + spanLength(data.count - start)])
            data.insert(contentsOf: span, at: position(data.count, inclusive: true))
        case 6:  // duplicate a span in place, several times (deep nesting, long runs)
            guard !data.isEmpty else { return }
            let start = position(data.count)
            let span = Array(data[start..<start + spanLength(min(16, data.count - start))])
            let times = [1, 2, 8, 100, 1000][pick(5)]
            var repeated: [UInt8] = []
            repeated.reserveCapacity(span.count * times)
            for _ in 0..<times { repeated += span }
            data.insert(contentsOf: repeated, at: start)
        case 7:  // truncate
            data.removeSubrange(position(data.count, inclusive: true)...)
        case 8:  // splice: a prefix of this input, a suffix of another seed
            let other = seeds[pick(seeds.count)]
            let cut = position(data.count, inclusive: true)
            let from = position(other.count, inclusive: true)
            data = Array(data[..<cut]) + Array(other[from...])
        case 9:  // replace a decimal number
            let numbers = Self.numberRanges(data)
            let replacement = Array(Self.interestingNumbers[pick(Self.interestingNumbers.count)].utf8)
            if numbers.isEmpty {
                data.insert(contentsOf: replacement, at: position(data.count, inclusive: true))
            } else {
                data.replaceSubrange(numbers[pick(numbers.count)], with: replacement)
            }
        case 10:  // dictionary token, inserted or overwriting
            guard !dictionary.isEmpty else { return }
            let token = dictionary[pick(dictionary.count)]
            let at = position(data.count, inclusive: true)
            if pick(2) == 0 || at == data.count {
                data.insert(contentsOf: token, at: at)
            } else {
                data.replaceSubrange(at..<min(data.count, at + token.count), with: token)
            }
        case 11:  // random bytes inserted
            let count = 1 + pick(8)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            data.insert(contentsOf: bytes, at: position(data.count, inclusive: true))
        case 12:  // text punctuation: quotes, delimiters, line breaks, escapes
            let token = Array(Self.textInserts[pick(Self.textInserts.count)].utf8)
            data.insert(contentsOf: token, at: position(data.count, inclusive: true))
        case 13:  // invalid UTF-8
            let token = Self.invalidUTF8[pick(Self.invalidUTF8.count)]
            data.insert(contentsOf: token, at: position(data.count, inclusive: true))
        case 14:  // a byte-order mark, at the start (where readers skip it) or anywhere
            data.insert(contentsOf: [0xEF, 0xBB, 0xBF], at: pick(2) == 0 ? 0 : position(data.count, inclusive: true))
        default:  // swap two lines
            var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
            guard lines.count > 1 else { return }
            let a = pick(lines.count), b = pick(lines.count)
            lines.swapAt(a, b)
            data = Array(lines.joined(separator: [0x0A]))
        }
    }

    /// Ranges of decimal number literals (digits with an optional sign, fraction and exponent).
    static func numberRanges(_ data: [UInt8]) -> [Range<Int>] {
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        var ranges: [Range<Int>] = []
        var i = 0
        while i < data.count {
            guard isDigit(data[i]) else {
                i += 1
                continue
            }
            var start = i
            if start > 0 && data[start - 1] == UInt8(ascii: "-") { start -= 1 }
            while i < data.count,
                isDigit(data[i]) || data[i] == UInt8(ascii: ".") || data[i] == UInt8(ascii: "e")
                    || data[i] == UInt8(ascii: "E")
                    || ((data[i] == UInt8(ascii: "+") || data[i] == UInt8(ascii: "-"))
                        && (data[i - 1] | 0x20) == UInt8(ascii: "e"))
            {
                i += 1
            }
            ranges.append(start..<i)
        }
        return ranges
    }
}

/// A failure detected inside a `load` closure (a secondary reader's error that does not name the file).
public struct FuzzFailure: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// What one fuzz run tried and found.
public struct FuzzReport: CustomStringConvertible {
    public var name: String
    public var tried = 0
    public var loaded = 0
    public var rejected = 0
    public var seconds = 0.0
    /// The slowest case, in seconds.
    public var slowest = 0.0
    /// Stopped early because the total time budget ran out.
    public var stoppedByBudget = false
    /// One line per failure: the case number, what went wrong and the input.
    public var failures: [String] = []

    public var description: String {
        "fuzz \(name): \(tried) inputs, \(loaded) loaded, \(rejected) rejected, \(failures.count) failures, "
            + String(format: "%.1f s (slowest case %.3f s)", seconds, slowest)
            + (stoppedByBudget ? " [stopped by the time budget]" : "")
    }
}

/// Runs a loader over mutated inputs. Each input is written to `fileName` in a scratch directory and
/// `load` is called with that path (and the case number): it must return (the input loaded) or throw an error whose
/// description is non-empty and names the file (its path or its name, or one of `alsoAccepted`).
/// A trap ends the test process, which is a failure by itself; the input that caused it is still
/// in the scratch directory (printed before the run starts). A case slower than `caseLimit` seconds
/// is a hang; a case that has not finished after `hardLimit` seconds ends the run (it keeps
/// running on its thread, which dies with the process).
public enum Fuzz {
    public static func run(
        _ name: String, cases: Int, fileName: String,
        alsoAccepted: [String] = [], caseLimit: Double = 2, hardLimit: Double = 20,
        budget: Double = 12, prepare: (URL) throws -> Void = { _ in },
        next: () -> [UInt8], load: @escaping @Sendable (_ path: String, _ index: Int) throws -> Void
    ) throws -> FuzzReport {
        let directory = FileManager.default.temporaryDirectory
            // No dots: a message naming only the directory must not pass for one naming the file.
            .appendingPathComponent("fttrain-fuzz-\(name.replacingOccurrences(of: ".", with: "_"))-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try prepare(directory)
        let file = directory.appendingPathComponent(fileName)
        print("fuzz \(name): scratch file \(file.path) (after a crash it holds the input that caused it)")
        var report = FuzzReport(name: name)
        // FTTRAIN_FUZZ_SCALE=10 tries ten times the cases with ten times the budget (a deeper search
        // than the suite's default run can afford).
        let scale = ProcessInfo.processInfo.environment["FTTRAIN_FUZZ_SCALE"].flatMap(Double.init) ?? 1
        let cases = Int(Double(cases) * scale), budget = budget * scale
        let start = Date()
        let names = [file.path, fileName] + alsoAccepted
        for index in 0..<cases {
            if Date().timeIntervalSince(start) > budget {
                report.stoppedByBudget = true
                break
            }
            let input = next()
            try Data(input).write(to: file)
            let caseStart = Date()
            let outcome = runWithTimeout(hardLimit) { try load(file.path, index) }
            let elapsed = Date().timeIntervalSince(caseStart)
            report.tried += 1
            report.slowest = max(report.slowest, elapsed)
            switch outcome {
            case .none:
                report.failures.append("case \(index): no result after \(hardLimit) s (hang): \(render(input))")
                report.seconds = Date().timeIntervalSince(start)
                return report
            case .some(.success):
                report.loaded += 1
            case .some(.failure(let failure as FuzzFailure)):
                report.failures.append("case \(index): \(failure.message): \(render(input))")
            case .some(.failure(let error)):
                report.rejected += 1
                if let problem = problem(with: error, names: names) {
                    report.failures.append("case \(index): \(problem): \(render(input))")
                }
            }
            if elapsed > caseLimit {
                report.failures.append("case \(index): took \(String(format: "%.2f", elapsed)) s (limit \(caseLimit) s): \(render(input))")
            }
        }
        report.seconds = Date().timeIntervalSince(start)
        try? FileManager.default.removeItem(at: directory)
        return report
    }

    /// Prints the report and fails the test for each failure (the first 20 listed).
    public static func check(_ report: FuzzReport, file: StaticString = #filePath, line: UInt = #line) {
        print(report)
        for failure in report.failures.prefix(20) { XCTFail("fuzz \(report.name): \(failure)", file: file, line: line) }
        if report.failures.count > 20 { XCTFail("fuzz \(report.name): \(report.failures.count - 20) more failures", file: file, line: line) }
    }

    /// Runs a secondary reader of the same file inside a `load` closure: its error, if any, must
    /// name the file too (else a `FuzzFailure` is thrown, which the run reports); otherwise it is ignored.
    public static func alsoRun(_ what: String, names: [String], _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            if let problem = problem(with: error, names: names) { throw FuzzFailure(message: "\(what): \(problem)") }
        }
    }

    /// Why `error` is not an acceptable rejection, or nil when it is.
    public static func problem(with error: Error, names: [String]) -> String? {
        let description = String(describing: error)
        if description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return "empty error message (\(type(of: error)))" }
        guard names.contains(where: { description.contains($0) }) else {
            return "error does not name the file: \(type(of: error)): \(description.prefix(300))"
        }
        return nil
    }

    /// Runs `body` on a thread with an 8 MB stack (the main thread's), waiting at most `limit` seconds.
    public static func runWithTimeout(_ limit: Double, _ body: @escaping @Sendable () throws -> Void) -> Result<Void, Error>? {
        let result = UncheckedBox<Result<Void, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let r: Result<Void, Error>
            do {
                try body()
                r = .success(())
            } catch { r = .failure(error) }
            result.value = r
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        guard done.wait(timeout: .now() + limit) == .success else { return nil }
        return result.value
    }

    /// The input as an escaped Swift string literal (first 400 bytes), for the failure message.
    public static func render(_ input: [UInt8]) -> String {
        var out = "\(input.count) bytes \""
        for b in input.prefix(400) {
            switch b {
            case 0x5C: out += "\\\\"
            case 0x22: out += "\\\""
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out += String(UnicodeScalar(b))
            default: out += String(format: "\\x%02X", b)
            }
        }
        return out + (input.count > 400 ? "\"…" : "\"")
    }

    /// Shrinks `input` while `stillFails` holds (delta debugging: drop chunks, halving their size).
    public static func minimize(_ input: [UInt8], stillFails: ([UInt8]) -> Bool) -> [UInt8] {
        var current = input
        var chunk = max(1, current.count / 2)
        while chunk >= 1 {
            var i = 0
            var shrunk = false
            while i < current.count {
                var candidate = current
                candidate.removeSubrange(i..<min(current.count, i + chunk))
                if stillFails(candidate) {
                    current = candidate
                    shrunk = true
                } else {
                    i += chunk
                }
            }
            if !shrunk {
                if chunk == 1 { break }
                chunk /= 2
            }
        }
        return current
    }
}

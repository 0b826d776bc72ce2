import Foundation
import XCTest

@testable import FTTrain

/// The detectors of `fttrain data anonymize` on committed cases: what must be found, what must not,
/// and text that must come back byte for byte.
final class DataAnonymizationTests: XCTestCase {
    private let plain = Anonymizer()

    private func anonymized(_ text: String, _ anonymizer: Anonymizer? = nil) -> String {
        (anonymizer ?? plain).anonymize(text).text
    }

    func testResidentIDCheckDigitAndDate() {
        XCTAssertTrue(ChineseResidentID.isValid("11010519491231002X"))
        XCTAssertTrue(ChineseResidentID.isValid("11010519491231002x"))
        XCTAssertTrue(ChineseResidentID.isValid("320102198802290513"))  // 1988 is a leap year
        XCTAssertFalse(ChineseResidentID.isValid("110105194912310021"))  // wrong check digit
        XCTAssertFalse(ChineseResidentID.isValid("110101199902301231"))  // 1999-02-30, check digit right
        XCTAssertFalse(ChineseResidentID.isValid("440304199013071236"))  // month 13
        XCTAssertTrue(ChineseResidentID.isValid("110105491231002"))  // 15-digit form, 1949-12-31
        XCTAssertFalse(ChineseResidentID.isValid("110105490231002"))  // 1949-02-31
        XCTAssertEqual(anonymized("身份证号11010519491231002X，请核对"), "身份证号[ID]，请核对")
        XCTAssertEqual(anonymized("ID 510108198501010016."), "ID [ID].")
        XCTAssertEqual(anonymized("号码110105194912310021错了"), "号码110105194912310021错了")
        XCTAssertEqual(anonymized("生日不对 110101199902301231"), "生日不对 110101199902301231")
    }

    func testLuhnCards() {
        XCTAssertTrue(Luhn.isValid("4111111111111111"))
        XCTAssertFalse(Luhn.isValid("4111111111111112"))
        XCTAssertEqual(anonymized("卡号6222 0200 1234 5671已冻结"), "卡号[CARD]已冻结")
        XCTAssertEqual(anonymized("card 4111-1111-1111-1111 expired"), "card [CARD] expired")
        XCTAssertEqual(anonymized("amex 37828224631003"), "amex [CARD]")
        XCTAssertEqual(anonymized("card 4111 1111 1111 1112 fails Luhn"), "card 4111 1111 1111 1112 fails Luhn")
        XCTAssertEqual(anonymized("order 6222020012345672"), "order 6222020012345672")
        // A mistyped card is nothing, not a "landline" made of its last groups.
        XCTAssertEqual(anonymized("card 6222 0400 8041 5152"), "card 6222 0400 8041 5152")
        // 18 digits shaped like an ID (birth date inside) with a wrong check digit are not a card even when Luhn passes.
        XCTAssertTrue(Luhn.isValid("330106195701169890"))
        XCTAssertEqual(anonymized("编号330106195701169890"), "编号330106195701169890")
    }

    func testPhones() {
        let cases: [(String, String)] = [
            ("电话13812345678", "电话[PHONE]"),
            ("call 138-1234-5678 now", "call [PHONE] now"),
            ("call 138 1234 5678", "call [PHONE]"),
            ("+86 138 1234 5678", "[PHONE]"),
            ("+8613812345678", "[PHONE]"),
            ("0086-13812345678", "[PHONE]"),
            ("座机010-62345678转", "座机[PHONE]转"),
            ("(0755) 8888 6666", "[PHONE]"),
            ("0571-88886666 或 13912345678", "[PHONE] 或 [PHONE]"),
            ("London +44 20 7946 0958.", "London [PHONE]."),
            ("+1 (415) 555-2671", "[PHONE]"),
        ]
        for (input, expected) in cases { XCTAssertEqual(anonymized(input), expected, input) }
        // Not phones: too short, a 12-digit mobile lookalike, a year range, glued to letters.
        for text in ["价格12345678元", "编号123456789012", "1998-2005 年", "sku13812345678", "共 10 人，12 岁"] {
            XCTAssertEqual(anonymized(text), text, text)
        }
    }

    func testEmailURLAndIPs() {
        XCTAssertEqual(anonymized("mail Zhang.San+tag@example.com.cn, thanks"), "mail [EMAIL], thanks")
        XCTAssertEqual(anonymized("see https://example.com/a?b=1&c=2."), "see [URL].")
        XCTAssertEqual(anonymized("(see www.example.org/page)"), "(see [URL])")
        XCTAssertEqual(anonymized("https://en.wikipedia.org/wiki/Foo_(film) is"), "[URL] is")
        XCTAssertEqual(anonymized("host 192.168.1.20 down"), "host [IP] down")
        XCTAssertEqual(anonymized("v6 2001:db8:85a3::8a2e:370:7334 and fe80::1"), "v6 [IP] and [IP]")
        XCTAssertEqual(anonymized("full 2001:0db8:0000:0000:0000:ff00:0042:8329"), "full [IP]")
        for text in ["bad 256.1.1.1 ip", "version 1.2.3.4.5", "at 10:30:45 today", "std::vector a::b", "user@localhost", "a @ b", "3.14159"] {
            XCTAssertEqual(anonymized(text), text, text)
        }
    }

    func testNamesFromListAndChineseRule() {
        let list = Anonymizer(names: PersonNames(names: ["Ann Lee", "Ann", "李雷"], chineseRule: false))
        XCTAssertEqual(anonymized("Ann Lee met Ann. Annual report by 李雷。", list), "[NAME] met [NAME]. Annual report by [NAME]。")
        let rule = Anonymizer(names: PersonNames(names: [], chineseRule: true))
        XCTAssertEqual(anonymized("联系人：王伟，电话13812345678", rule), "联系人：[NAME]，电话[PHONE]")
        XCTAssertEqual(anonymized("我叫欧阳娜娜", rule), "我叫[NAME]")
        XCTAssertEqual(anonymized("国王很高兴", rule), "国王很高兴")
        XCTAssertEqual(anonymized("王伟", plain), "王伟")  // the rule is off unless asked for
    }

    func testHashIsKeyedAndLinksSpellings() {
        let a = Anonymizer(hashSalt: "s1")
        let b = Anonymizer(hashSalt: "s2")
        let one = anonymized("13812345678", a)
        XCTAssertTrue(one.hasPrefix("[PHONE:") && one.count == "[PHONE:12345678]".count, one)
        XCTAssertEqual(anonymized("+86 138-1234-5678", a), one)  // the same number, written otherwise
        XCTAssertNotEqual(anonymized("13812345678", b), one)  // another salt, another hash
        XCTAssertNotEqual(anonymized("13912345678", a), one)
    }

    func testTextWithoutIdentifiersRoundTrips() {
        let texts = [
            "A senior at an elite college (Katie Holmes), already under severe pressure, 2 years later... 3.5/5!",
            "这本书写得很好，价格 35.8 元，2019 年 10 月买的，推荐给大家。",
            "Rated 4 out of 5 — \"great\" — see p. 12-15; ratio 16:9; 100% fun.",
        ]
        for text in texts { XCTAssertEqual(anonymized(text), text) }
    }

    func testCSVFileKeepsEveryOtherByte() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.csv")
        let original =
            "\u{FEFF}id,text,note\r\n1,\"call 13812345678, or mail a@b.com\",13812345678\r\n2,no identifiers here,\"x, y\"\r\n\r\n3,plain 192.168.0.1,keep\r\n"
        try Data(original.utf8).write(to: input)
        let output = dir.appendingPathComponent("out.csv")
        let report = try AnonymizedFile.anonymize(input: input.path, output: output.path, columns: ["text"], anonymizer: plain)
        let written = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        XCTAssertEqual(
            written,
            "\u{FEFF}id,text,note\r\n1,\"call [PHONE], or mail [EMAIL]\",13812345678\r\n2,no identifiers here,\"x, y\"\r\n\r\n3,plain [IP],keep\r\n")
        XCTAssertEqual(report.rows, 3)
        XCTAssertEqual(report.rowsChanged, 2)
        XCTAssertEqual(report.count("text", .phone), 1)
        XCTAssertEqual(report.count("text", .email), 1)
        XCTAssertEqual(report.count("text", .ip), 1)

        // Nothing to replace: the output is the input, byte for byte.
        let clean = dir.appendingPathComponent("clean.tsv")
        let cleanText = "text\tlabel\n\"quoted \"\"x\"\"\"\tpos\nplain\tneg"
        try Data(cleanText.utf8).write(to: clean)
        _ = try AnonymizedFile.anonymize(input: clean.path, output: dir.appendingPathComponent("c.tsv").path, columns: ["text"], anonymizer: plain)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("c.tsv")), Data(cleanText.utf8))

        XCTAssertThrowsError(try AnonymizedFile.anonymize(input: input.path, output: output.path, columns: ["body"], anonymizer: plain)) {
            XCTAssertTrue("\($0)".contains("\"body\" not found"), "\($0)")
        }
    }

    func testJSONLinesRewritesOnlyNamedKeys() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.jsonl")
        let original = """
            {"text": "我的手机13812345678\\n谢谢", "meta": {"text": "13812345678"}, "phone": "13812345678"}
            {"text":"nothing \\u4e2d here","label":1}

            """
        try Data(original.utf8).write(to: input)
        let output = dir.appendingPathComponent("out.jsonl")
        let report = try AnonymizedFile.anonymize(input: input.path, output: output.path, columns: ["text"], anonymizer: plain)
        let expected = """
            {"text": "我的手机[PHONE]\\n谢谢", "meta": {"text": "13812345678"}, "phone": "13812345678"}
            {"text":"nothing \\u4e2d here","label":1}

            """
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), expected)
        XCTAssertEqual(report.count("text", .phone), 1)
        XCTAssertEqual(report.rows, 2)
    }
}

import Foundation

/// Finds person names: the entries of a user-supplied list, and optionally Chinese names by rule —
/// a common surname (single, or compound like 欧阳) followed by one or two characters common in
/// given names.
///
/// List names match exactly (case-sensitive); a name that begins or ends with an ASCII letter or
/// digit must stand as a word (`Ann` is not found in `Annual`). The Chinese rule fires only where a
/// name can start: after a character that is not a Han ideograph, or after a word that commonly
/// precedes a name (叫, 是, 和, 给, 找, ...), so 国王 or 很高兴 are not names; it still trades
/// precision for recall (see docs/data_tools.md for the measured figures).
public struct PersonNames: Sendable {
    /// The list's names grouped by first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [[Unicode.Scalar]]]
    public let chineseRule: Bool

    public init(names: [String], chineseRule: Bool) {
        var table: [Unicode.Scalar: [[Unicode.Scalar]]] = [:]
        for name in Set(names.map { $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            let scalars = Array(name.unicodeScalars)
            table[scalars[0], default: []].append(scalars)
        }
        byFirst = table.mapValues { $0.sorted { $0.count > $1.count } }
        self.chineseRule = chineseRule
    }

    /// Reads a name list: one name per line, blank lines and lines starting with `#` ignored.
    public static func readList(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError.invalidUTF8(path: path, line: 1) }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    func find(in text: [Unicode.Scalar], into spans: inout [IdentifierSpan]) {
        let n = text.count
        var i = 0
        while i < n {
            if let end = listMatch(text, at: i) ?? (chineseRule ? ruleMatch(text, at: i) : nil) {
                spans.append(IdentifierSpan(kind: .name, start: i, end: end))
                i = end
            } else {
                i += 1
            }
        }
    }

    private func listMatch(_ text: [Unicode.Scalar], at i: Int) -> Int? {
        guard let candidates = byFirst[text[i]] else { return nil }
        for name in candidates where i + name.count <= text.count {
            guard text[i..<(i + name.count)].elementsEqual(name) else { continue }
            if Scalars.isWordCharacter(name[0]) && Scalars.wordAt(text, i - 1) { continue }
            if Scalars.isWordCharacter(name[name.count - 1]) && Scalars.wordAt(text, i + name.count) { continue }
            return i + name.count
        }
        return nil
    }

    private func ruleMatch(_ text: [Unicode.Scalar], at i: Int) -> Int? {
        let n = text.count
        guard Scalars.isHan(text[i]) else { return nil }
        if i > 0, Scalars.isHan(text[i - 1]), !ChineseNameCharacters.precedingWords.contains(text[i - 1]) { return nil }
        var s = i
        if i + 1 < n, ChineseNameCharacters.compoundSurnames.contains(String(String.UnicodeScalarView(text[i...(i + 1)]))) {
            s = i + 2
        } else if ChineseNameCharacters.surnames.contains(text[i]) {
            s = i + 1
        } else {
            return nil
        }
        guard s < n, ChineseNameCharacters.givenName.contains(text[s]) else { return nil }
        if s + 1 < n, ChineseNameCharacters.givenName.contains(text[s + 1]) { return s + 2 }
        return s + 1
    }
}

/// The character lists of the Chinese name rule.
enum ChineseNameCharacters {
    /// The most common single-character surnames (about 100, covering ~85% of the population).
    static let surnames = Set(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
            .unicodeScalars)
    static let compoundSurnames: Set<String> = ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "司徒", "夏侯", "尉迟", "公孙"]
    /// Characters common in given names.
    static let givenName = Set(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲建国志文斌宇浩凯健俊帆帅旭宁婷雪琳晶颖倩佳欣怡梅莉燕凤洁琴云莹颖慧巧美娅嘉琪子涵轩博睿鑫晨阳昊然思源泽宏锋磊亮成林海波峰龙飞鹏翔婉悦瑶雯璐蕾薇菲彤娇嫣丹蓉晓春秋冬梓萱诗若雨欣妍可馨依昕琦晗璇筱怡婕雅静淑惠坤鹤岩松柏毅铭哲瀚宸铎熙煜彬栋良仁义礼智信忠孝德"
            .unicodeScalars)
    /// Han characters after which a name often follows (so the rule may fire there).
    static let precedingWords = Set("叫是和与跟给对找问请让被把向同及由说见到称为".unicodeScalars)
}

import ArgumentParser
import FTTrain
import Foundation

/// `fttrain data anonymize`: personal identifiers in chosen columns replaced by typed placeholders
/// or salted hashes; everything else byte for byte.
struct DataAnonymizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anonymize",
        abstract: "Replace ID numbers, phones, e-mails, cards, IPs, URLs and names in text columns.",
        discussion: """
            Finds mainland-China resident IDs (check digit and birth date verified), Chinese mobile, \
            landline and international phone numbers, e-mail addresses, bank cards (Luhn), IPv4/IPv6, \
            URLs, names from --names and (with --chinese-names) surname + given-name patterns, and \
            replaces them with [ID], [PHONE], [EMAIL], [CARD], [IP], [URL], [NAME] — or, with \
            --hash-salt, with [KIND:xxxxxxxx] (HMAC-SHA256), the same for the same identifier. \
            Other columns and bytes are copied unchanged; the output is written atomically.
              fttrain data anonymize --input reviews.csv --columns text --output reviews.anon.csv
              fttrain data anonymize --input chats.jsonl --columns user,agent --output anon.jsonl \\
                --names staff.txt --chinese-names --hash-salt "$SALT" --report counts.json
            """)

    @Option(help: "The data file (CSV, TSV or JSON Lines).")
    var input: String

    @Option(help: "Comma-separated columns (JSON keys) to anonymise.")
    var columns: String

    @Option(help: "Where the anonymised file goes (same format as the input).")
    var output: String

    @Option(help: "A file of names to replace, one per line.")
    var names: String?

    @Flag(help: "Also replace Chinese names found by the surname + given-name rule.")
    var chineseNames = false

    @Option(help: "Replace with [KIND:hash] keyed by this salt instead of plain placeholders.")
    var hashSalt: String?

    @Option(help: "Also write the counts per column and kind as JSON here.")
    var report: String?

    func validate() throws {
        if columnList.isEmpty { throw ValidationError("--columns must name at least one column") }
        if let hashSalt, hashSalt.isEmpty { throw ValidationError("--hash-salt must not be empty") }
    }

    private var columnList: [String] {
        columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        let nameList = try names.map(PersonNames.readList) ?? []
        let anonymizer = Anonymizer(names: PersonNames(names: nameList, chineseRule: chineseNames), hashSalt: hashSalt)
        let result = try AnonymizedFile.anonymize(input: input, output: output, columns: columnList, anonymizer: anonymizer)
        FileHandle.standardError.write(Data((result.summary + "\n").utf8))
        if let report { try result.json().write(to: URL(fileURLWithPath: report), options: .atomic) }
        print("wrote \(output)")
    }
}

import FTCore

/// Reads JSON Lines: one object per line, blank lines ignored, the configured keys looked up in each.
///
/// Labels may be JSON strings or integers; an integer is normalised to its decimal text (`1` → `"1"`),
/// and so is a number with only zeros after the point (`1.0` → `"1"`, as pandas writes an integer
/// column that once held a missing value). Other numbers, booleans, arrays and objects are bad rows.
enum JSONLinesReading {
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, path: String, into builder: inout ExampleBuilder) throws {
        let start = ByteScanning.bomLength(bytes)
        if let first = (start..<bytes.count).first(where: { !ByteScanning.isBlank(bytes, from: $0, to: $0 + 1) }),
            bytes[first] == UInt8(ascii: "[")
        {
            throw DataError.notJSONLines(path: path)
        }
        let columns = builder.columns
        // Keys seen in any object, in first-seen order: a configured key that no row has is a
        // misconfiguration (reported with the keys that exist), not thousands of bad rows.
        var seenKeys = Set<String>()
        var keyOrder: [String] = []
        try JSONLines.forEachLine(in: bytes, from: start) { record in
            let line = record.number
            let value: StrictJSON.Value
            do throws(JSONLineError) {
                value = try record.parse()
            } catch {
                builder.reject(line: line, error.reason)
                return
            }
            guard case .object(let members) = value else {
                builder.reject(line: line, "expected a JSON object, found \(value.typeName)")
                return
            }
            let object = JSONObject(members)
            for key in object.keys where seenKeys.insert(key).inserted { keyOrder.append(key) }
            do {
                let text = try string(object, columns.text)
                let pair = try columns.textPair.map { try string(object, $0) }
                if builder.labelled {
                    let label =
                        try columns.labels.map { keys in
                            try keys.map { try labelString(object, $0, kind: .number, single: true) }.joined(separator: LabelKind.listJoiner)
                        } ?? labelString(object, columns.label, kind: builder.labelKind)
                    builder.add(text: text, pair: pair, label: label, line: line)
                } else {
                    builder.addUnlabelled(text: text, pair: pair)
                }
            } catch let reason as RowProblem {
                builder.reject(line: line, reason.message)
            }
        }
        let missing = builder.requiredColumns.filter { !seenKeys.contains($0) }
        if !missing.isEmpty && !seenKeys.isEmpty {
            throw DataError.missingColumns(path: path, missing: missing, available: keyOrder)
        }
    }

    private struct RowProblem: Error { var message: String }

    private static func string(_ object: JSONObject, _ key: String) throws -> String {
        switch object.values[key] {
        case .string(let s): return s
        case nil: throw RowProblem(message: "no \"\(key)\" key")
        case .null: throw RowProblem(message: "empty text: \"\(key)\" is null")
        case let other?: throw RowProblem(message: "\"\(key)\" must be a string, found \(other.typeName)")
        }
    }

    /// The label text of `key`; with `single`, one number (a key of `label_columns`).
    private static func labelString(_ object: JSONObject, _ key: String, kind: LabelKind = .name, single: Bool = false) throws -> String {
        switch object.values[key] {
        case .string(let s): return s
        case .number(let literal):
            if kind == .number { return literal }
            guard let integer = integerText(literal) else {
                if kind != .name {
                    throw RowProblem(message: "label \(literal) is a number; problem_type multi_label_classification needs a list of label names")
                }
                throw RowProblem(
                    message: "label \(literal) is not an integer; labels must be strings or integers (a float label needs problem_type regression)")
            }
            return integer
        case .array(let elements) where kind == .number && !single:
            // Regression with several outputs: a list of numbers, one per output.
            guard !elements.isEmpty else { throw RowProblem(message: "label \"\(key)\" is an empty list; regression needs a number per output") }
            var values: [String] = []
            for element in elements {
                switch element {
                case .number(let literal), .string(let literal): values.append(literal)  // numeric text is checked as a number
                default: throw RowProblem(message: "label list \"\(key)\" holds \(element.typeName); regression outputs must be numbers")
                }
            }
            return values.joined(separator: LabelKind.listJoiner)
        case .array(let elements):
            guard case .list = kind else {
                let need =
                    kind == .number ? "problem_type regression needs one number" : "a list of labels needs problem_type multi_label_classification"
                throw RowProblem(message: "label \"\(key)\" is an array; \(need)")
            }
            if elements.isEmpty { return LabelKind.emptyList }
            var names: [String] = []
            for element in elements {
                switch element {
                case .string(let s): names.append(s)
                case .number(let literal):
                    guard let integer = integerText(literal) else {
                        throw RowProblem(
                            message: "label \(literal) in \"\(key)\" is a number, not a label name (multi-label lists hold names or integers)")
                    }
                    names.append(integer)
                default: throw RowProblem(message: "label list \"\(key)\" holds \(element.typeName); it must hold strings or integers")
                }
            }
            return names.joined(separator: LabelKind.listJoiner)
        case nil: throw RowProblem(message: "missing label: no \"\(key)\" key")
        case .null: throw RowProblem(message: "missing label: \"\(key)\" is null")
        case let other?: throw RowProblem(message: "label \"\(key)\" must be a string or an integer, found \(other.typeName)")
        }
    }

    /// Decimal text of a JSON number literal that is an integer (`-3`, `7.00`), else nil. Exponents
    /// are not integers here: `1e2` is a float in every JSON writer that produces one.
    static func integerText(_ literal: String) -> String? {
        guard !literal.contains(where: { $0 == "e" || $0 == "E" }) else { return nil }
        let parts = literal.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 2 && !parts[1].allSatisfy({ $0 == "0" }) { return nil }
        let whole = String(parts[0])
        if let value = Int(whole) { return String(value) }  // also turns "-0" into "0"
        return whole  // beyond Int: keep the digits; LabelSet treats it as a string label
    }
}

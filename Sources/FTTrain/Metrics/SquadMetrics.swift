import Foundation

/// Exact match and F1 of extractive QA, exactly as the official SQuAD evaluation scripts compute
/// them (evaluate-v1.1.py and evaluate-v2.0.py, which Hugging Face's `squad` and `squad_v2`
/// metrics wrap): answers are normalised (lowercased; ASCII punctuation removed; the words a, an,
/// the removed; whitespace collapsed), F1 is over the normalised words as bags, and each question
/// scores the best over its gold answers. v2 scores an unanswerable question (no gold answer whose
/// normalised text is non-empty) against "", and reports the answerable and unanswerable
/// questions apart (`HasAns_…`, `NoAns_…`). Scores are percentages.
public enum SquadMetrics {
    /// Python's `string.punctuation`.
    static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

    /// Python's `\w` for `str` patterns: letters, digits and numbers of any script, and `_`.
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        if s == "_" { return true }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber:
            return true
        default: return false
        }
    }

    /// Python's `str.split()` whitespace.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// The scripts' `normalize_answer`: `white_space_fix(remove_articles(remove_punc(lower(s))))`.
    public static func normalize(_ text: String) -> String {
        let lowered = Array(text.lowercased().unicodeScalars).filter { !punctuation.contains($0) }
        // remove_articles: re.sub(r'\b(a|an|the)\b', ' ', text).
        var out = String.UnicodeScalarView()
        var i = 0
        while i < lowered.count {
            if i == 0 || !isWordCharacter(lowered[i - 1]) {
                var matched = 0
                for article in ["a", "an", "the"] {
                    let a = Array(article.unicodeScalars)
                    let end = i + a.count
                    if end <= lowered.count, Array(lowered[i..<end]) == a, end == lowered.count || !isWordCharacter(lowered[end]) {
                        matched = a.count
                        break
                    }
                }
                if matched > 0 {
                    out.append(" ")
                    i += matched
                    continue
                }
            }
            out.append(lowered[i])
            i += 1
        }
        return words(String(out)).joined(separator: " ")
    }

    /// Python's `str.split()`.
    static func words(_ text: String) -> [String] {
        text.unicodeScalars.split(whereSeparator: isWhitespace).map { String(String.UnicodeScalarView($0)) }
    }

    /// v1.1's `exact_match_score`.
    public static func exactMatch(_ prediction: String, _ truth: String) -> Double {
        normalize(prediction) == normalize(truth) ? 1 : 0
    }

    /// v1.1's `f1_score`: 0 when no word is shared (also when either side is empty).
    public static func f1(_ prediction: String, _ truth: String) -> Double {
        f1(predicted: words(normalize(prediction)), truth: words(normalize(truth)), emptyMatches: false)
    }

    /// v2.0's `compute_f1`: two empty answers agree (1), one empty answer scores 0.
    public static func f1V2(_ prediction: String, _ truth: String) -> Double {
        f1(predicted: words(normalize(prediction)), truth: words(normalize(truth)), emptyMatches: true)
    }

    static func f1(predicted: [String], truth: [String], emptyMatches: Bool) -> Double {
        if emptyMatches && (predicted.isEmpty || truth.isEmpty) { return predicted == truth ? 1 : 0 }
        var counts: [String: Int] = [:]
        for w in truth { counts[w, default: 0] += 1 }
        var same = 0
        for w in predicted where (counts[w] ?? 0) > 0 {
            counts[w]! -= 1
            same += 1
        }
        guard same > 0 else { return 0 }
        let precision = Double(same) / Double(predicted.count), recall = Double(same) / Double(truth.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// The v1.1 script's totals: `exact_match` and `f1`, each the mean over questions of the best
    /// over gold answers, × 100. Every question must have a gold answer.
    public static func v1(predictions: [String], answers: [[String]]) -> [String: Double] {
        precondition(predictions.count == answers.count)
        guard !predictions.isEmpty else { return ["exact_match": 0, "f1": 0] }
        var em = 0.0, f = 0.0
        for (p, golds) in zip(predictions, answers) {
            em += golds.map { exactMatch(p, $0) }.max() ?? 0
            f += golds.map { f1(p, $0) }.max() ?? 0
        }
        let n = Double(predictions.count)
        return ["exact_match": 100 * em / n, "f1": 100 * f / n]
    }

    /// The v2.0 script's `make_eval_dict` (no-answer probabilities not given): `exact`, `f1`,
    /// `total`, and the same over answerable (`HasAns_`) and unanswerable (`NoAns_`) questions
    /// when there are any.
    public static func v2(predictions: [String], answers: [[String]]) -> [String: Double] {
        precondition(predictions.count == answers.count)
        var exact: [Double] = [], f: [Double] = [], has: [Bool] = []
        for (p, golds) in zip(predictions, answers) {
            let kept = golds.filter { !normalize($0).isEmpty }
            let gold = kept.isEmpty ? [""] : kept
            has.append(!kept.isEmpty)
            exact.append(gold.map { normalize($0) == normalize(p) ? 1.0 : 0 }.max()!)
            f.append(gold.map { f1V2(p, $0) }.max()!)
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : 100 * values.reduce(0, +) / Double(values.count) }
        var result: [String: Double] = ["exact": mean(exact), "f1": mean(f), "total": Double(exact.count)]
        for (name, want) in [("HasAns", true), ("NoAns", false)] {
            let k = has.indices.filter { has[$0] == want }
            guard !k.isEmpty else { continue }
            result[name + "_exact"] = mean(k.map { exact[$0] })
            result[name + "_f1"] = mean(k.map { f[$0] })
            result[name + "_total"] = Double(k.count)
        }
        return result
    }
}

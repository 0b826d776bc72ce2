import Foundation

extension AgreementReport {
    /// The report as JSON (undefined statistics as null): overall, per label, per pair with confusion.
    public func json() throws -> Data {
        func number(_ x: Double?) -> Any { x.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        let object: [String: Any] = [
            "labels": labels, "annotators": annotators, "items": items, "complete_items": completeItems,
            "weights": weights.rawValue, "fleiss_kappa": number(fleissKappa), "krippendorff_alpha": number(krippendorffAlpha),
            "adjudicate": adjudications,
            "pairs": pairs.map { p in
                [
                    "annotators": [p.first, p.second], "items": p.items, "cohen_kappa": number(p.cohenKappa),
                    "weighted_kappa": number(p.weightedKappa), "confusion": p.confusion,
                ] as [String: Any]
            },
            "per_label": perLabel.map { l in
                [
                    "label": l.label, "fleiss_kappa": number(l.fleissKappa), "krippendorff_alpha": number(l.krippendorffAlpha),
                    "cohen_kappa": number(l.cohenKappa),
                ] as [String: Any]
            },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// A plain-text summary: overall figures, each pair with its confusion matrix, each label.
    public var summary: String {
        func f(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.4f", $0) : "undefined" } ?? "-" }
        var lines = [
            "\(items) items, \(annotators.count) annotators (\(annotators.joined(separator: ", "))), labels: \(labels.joined(separator: ", "))",
            "Fleiss' kappa \(f(fleissKappa)) (over the \(completeItems) items every annotator rated)",
            "Krippendorff's alpha (nominal) \(f(krippendorffAlpha))",
            "items to adjudicate (tied majority): \(adjudications)",
        ]
        for p in pairs {
            var line = "\(p.first) vs \(p.second): Cohen's kappa \(f(p.cohenKappa)) over \(p.items) items"
            if let w = p.weightedKappa { line += ", \(weights.rawValue)-weighted \(f(w))" }
            lines.append(line)
            let width = max(8, labels.map(\.count).max() ?? 0) + 1
            func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
            lines.append("  " + pad("\(p.first)\\\(p.second)".prefix(width - 1).description) + labels.map(pad).joined())
            for (i, label) in labels.enumerated() { lines.append("  " + pad(label) + p.confusion[i].map { pad(String($0)) }.joined()) }
        }
        for l in perLabel {
            var line = "label \(l.label): Fleiss' kappa \(f(l.fleissKappa)), alpha \(f(l.krippendorffAlpha))"
            if let c = l.cohenKappa { line += ", Cohen's kappa \(f(c))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

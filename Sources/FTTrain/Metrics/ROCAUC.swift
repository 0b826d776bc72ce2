/// Area under the ROC curve, computed the way scikit-learn's `roc_auc_score` does.
public enum ROCAUC {
    /// The binary AUC of `scores` against `isPositive` (higher score = more positive), or `nil` when
    /// it is undefined: no positives, no negatives, or a NaN score.
    ///
    /// Reference: sklearn `_binary_clf_curve` + `roc_curve` + `auc`. The samples are sorted by
    /// decreasing score and the ROC curve gets one point per *distinct* score (plus the origin),
    /// so tied samples move the curve diagonally and earn half credit; the area is the trapezoidal
    /// rule over those points. Here it is accumulated in integers as
    /// `Σ Δfp · (tp + tp_prev) / (2 · P · N)` and divided once at the end, which is the same area as
    /// sklearn's `trapezoid(tpr, fpr)` (sklearn also drops collinear points first, which does not
    /// change the area) with one rounding instead of many: the two agree to about 1e-16.
    ///
    /// Infinite scores rank normally (sklearn rejects them outright; the ranking is well defined).
    public static func binary(scores: [Float], isPositive: [Bool]) -> Double? {
        precondition(scores.count == isPositive.count, "scores and isPositive differ in length")
        let positives = isPositive.reduce(0) { $0 + ($1 ? 1 : 0) }
        let negatives = scores.count - positives
        guard positives > 0, negatives > 0, !scores.contains(where: \.isNaN) else { return nil }

        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0  // counts at the current threshold
        var twiceArea = 0  // Σ Δfp · (tp + tp_prev), exact in Int
        var start = 0
        while start < order.count {
            // One threshold = one run of equal scores.
            var end = start
            let threshold = scores[order[start]]
            var groupTP = 0
            while end < order.count && scores[order[end]] == threshold {
                if isPositive[order[end]] { groupTP += 1 }
                end += 1
            }
            let groupFP = (end - start) - groupTP
            twiceArea += groupFP * (2 * tp + groupTP)  // Δfp · (tp_prev + tp_new)
            tp += groupTP
            fp += groupFP
            start = end
        }
        return Double(twiceArea) / (2 * Double(positives) * Double(negatives))
    }
}

import FTCore

/// Which parameters weight decay applies to, as element ranges of the flat buffer.
public enum WeightDecayMask {
    /// Hugging Face's rule (`Trainer.get_decay_parameter_names`, transformers 5.x): a parameter
    /// decays unless its lower-cased name contains `bias`, `layernorm` or `rmsnorm`, or has a
    /// component `norm` or one ending in `_norm` (the patterns `(?:^|\.)norm(?:$|\.)` and
    /// `_norm(?:$|\.)`). HF also exempts any parameter of an `nn.LayerNorm` module whatever its
    /// name; names are all a flat buffer has, and BERT's layer norms are all called `LayerNorm`.
    /// So for BERT: no decay on biases and layer-norm weights, decay on everything else.
    public static func huggingFaceDecays(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.contains("bias") || lower.contains("layernorm") || lower.contains("rmsnorm") { return false }
        for component in lower.split(separator: ".", omittingEmptySubsequences: false) {
            if component == "norm" || component.hasSuffix("_norm") { return false }
        }
        return true
    }

    /// The views of `store` that decay under Hugging Face's rule, in layout order.
    public static func huggingFace(_ store: ParameterStore) -> [TensorView] {
        store.views.filter { huggingFaceDecays($0.name) }
    }

    /// Sorts `ranges`, drops empty ones and merges overlapping or adjacent ones.
    public static func merge(_ ranges: [Range<Int>]) -> [Range<Int>] {
        var merged: [Range<Int>] = []
        for r in ranges.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }
}

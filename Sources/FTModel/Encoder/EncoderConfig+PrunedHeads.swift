import Foundation

/// Per-layer head counts of a model whose attention heads were pruned (Michel et al. 2019;
/// `fttrain prune --method heads`), as Hugging Face records them: `config.json` keeps
/// `num_attention_heads` and adds `pruned_heads {"layer": [head, …]}` in the original numbering.
/// Layer `l` then has `heads(layer: l)` heads of the unchanged size `headSize`, so its query, key
/// and value weights are `(A, C)`, their biases `(A)` and its attention-output weight `(C, A)`,
/// with `A = attentionWidth(layer: l)` — the kept heads' rows (columns) in their original order,
/// exactly what transformers' `prune_heads` leaves and `from_pretrained` loads.
extension EncoderConfig {
    /// d: the width of one head (`hidden_size / num_attention_heads`, unchanged by pruning).
    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// The number of heads layer `l` still has.
    public func heads(layer l: Int) -> Int { numAttentionHeads - (prunedHeads[l]?.count ?? 0) }

    /// A: the concatenated width of layer `l`'s heads (`heads(layer:) · headSize`; C when unpruned).
    public func attentionWidth(layer l: Int) -> Int { heads(layer: l) * headSize }

    /// The original indices of layer `l`'s remaining heads, ascending: its local head `i` is
    /// original head `keptHeads(layer: l)[i]`.
    public func keptHeads(layer l: Int) -> [Int] {
        let pruned = Set(prunedHeads[l] ?? [])
        return (0..<numAttentionHeads).filter { !pruned.contains($0) }
    }

    /// Whether any layer lost heads.
    public var hasPrunedHeads: Bool { prunedHeads.values.contains { !$0.isEmpty } }

    /// `pruned_heads` as `config.json` spells it: string layer keys, sorted head lists.
    public var prunedHeadsJSON: [String: [Int]] {
        var object: [String: [Int]] = [:]
        for (layer, heads) in prunedHeads where !heads.isEmpty { object[String(layer)] = heads.sorted() }
        return object
    }

    /// Layers in range, heads in range and distinct, and at least one head left in every layer
    /// (a layer without attention is not a BERT layer transformers can build).
    func validatePrunedHeads(fail: (String) -> ModelError) throws {
        for (layer, heads) in prunedHeads.sorted(by: { $0.key < $1.key }) {
            guard (0..<numHiddenLayers).contains(layer) else {
                throw fail("pruned_heads names layer \(layer), but the model has \(numHiddenLayers) (\(key("num_hidden_layers")))")
            }
            guard Set(heads).count == heads.count else {
                throw fail("pruned_heads of layer \(layer) repeats a head: \(heads)")
            }
            if let bad = heads.first(where: { !(0..<numAttentionHeads).contains($0) }) {
                throw fail("pruned_heads of layer \(layer) names head \(bad), outside 0..<\(numAttentionHeads) (\(key("num_attention_heads")))")
            }
            guard heads.count < numAttentionHeads else {
                throw fail("pruned_heads removes every head of layer \(layer); at least one must stay")
            }
        }
    }

    /// Reads `pruned_heads` (absent or `{}` when nothing was pruned) from a `config.json`.
    /// - Throws: when it is not an object of layer keys to integer lists, naming the file.
    static func readPrunedHeads(_ json: ConfigJSON) throws -> [Int: [Int]] {
        guard let raw = json.object["pruned_heads"], !(raw is NSNull) else { return [:] }
        guard let object = raw as? [String: Any] else {
            throw json.fail("pruned_heads must be an object {\"layer\": [head, …]}, found \(raw)")
        }
        var result: [Int: [Int]] = [:]
        for (key, value) in object {
            guard let layer = Int(key) else { throw json.fail("pruned_heads key \"\(key)\" is not a layer number") }
            guard let list = value as? [Any],
                let heads = try? list.map({ item -> Int in
                    guard let n = item as? NSNumber, !ConfigJSON.isBoolean(n), n.doubleValue == n.doubleValue.rounded() else {
                        throw ModelError.badConfig(json.path, "")
                    }
                    return n.intValue
                })
            else { throw json.fail("pruned_heads of layer \(key) must be a list of head numbers, found \(value)") }
            if !heads.isEmpty { result[layer] = heads.sorted() }
        }
        return result
    }
}

import FTModel

/// The model's parts on the timeline: `embeddings forward`, `layer 3 forward`, `head forward`, …,
/// `layer 3 backward`, `embeddings backward` (category `layer`, the layer's index as an
/// argument), on the training track inside the micro-batch's `forward` and `backward` spans.
extension Tracer: ModelSpanRecorder {
    public func recordModelSpan(_ part: ModelSpanPart, backward: Bool, from start: Double, to end: Double) {
        let arguments: [String: Double]
        if case .layer(let l) = part { arguments = ["layer": Double(l)] } else { arguments = [:] }
        complete("\(part) \(backward ? "backward" : "forward")", category: "layer", since: start, until: end, arguments: arguments)
    }
}

import Foundation

/// The fixed position table of Vaswani et al. as DistilBERT builds it (`sinusoidal_pos_embds`;
/// transformers' `create_sinusoidal_embeddings`): for position p and channel j,
/// angle = p / 10000^(2⌊j/2⌋ / C); even channels hold sin(angle), odd ones cos(angle). Computed in
/// double precision and rounded once, as NumPy computes it before the copy into float32.
public enum SinusoidalPositions {
    /// table (P, C) ← the sinusoids.
    public static func fill(_ table: UnsafeMutablePointer<Float>, positions P: Int, channels C: Int) {
        for p in 0..<P {
            for j in 0..<C {
                let angle = Double(p) / pow(10000, Double(2 * (j / 2)) / Double(C))
                table[p * C + j] = Float(j % 2 == 0 ? sin(angle) : cos(angle))
            }
        }
    }
}

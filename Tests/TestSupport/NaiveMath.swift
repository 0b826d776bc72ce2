/// Plain loops kept as oracles for the BLAS paths (llm.c keeps `matmul_forward_naive`).
public enum NaiveMath {
    /// C (m, n) = op(A) op(B), row-major, in Double.
    public static func matmul(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: [Float], b: [Float]
    ) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * m + i] : a[i * k + p]
                    let y = transB ? b[j * k + p] : b[p * n + j]
                    sum += Double(x) * Double(y)
                }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }
}

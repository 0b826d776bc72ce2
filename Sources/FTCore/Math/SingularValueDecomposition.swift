import CBLAS

/// The thin SVD of a row-major `(m, n)` matrix in double precision (LAPACK's `dgesvd` from
/// OpenBLAS): `A = U · diag(S) · Vᵀ` with `U (m, k)`, `S (k)` descending, `Vᵀ (k, n)`, `k = min(m, n)`.
public struct SingularValueDecomposition: Sendable {
    /// (m, k) row-major.
    public let u: [Double]
    /// (k) descending, ≥ 0.
    public let singularValues: [Double]
    /// (k, n) row-major.
    public let vt: [Double]
    public let rows: Int, columns: Int
    public var rank: Int { singularValues.count }

    public struct Failure: Error, CustomStringConvertible {
        public let info: Int32
        public var description: String { "dgesvd did not converge (info \(info))" }
    }

    public init(_ matrix: [Double], rows m: Int, columns n: Int) throws {
        precondition(matrix.count == m * n && m > 0 && n > 0, "an (m, n) matrix with m, n > 0")
        // Row-major A (m, n) is column-major Aᵀ (n, m): decompose Aᵀ = U' S V'ᵀ, so A = V' S U'ᵀ,
        // i.e. U = V' and Vᵀ = U'ᵀ — LAPACK's outputs read row-major give exactly those.
        let k = min(m, n)
        var a = matrix
        var s = [Double](repeating: 0, count: k)
        var uPrime = [Double](repeating: 0, count: n * k)  // (n, k) column-major = (k, n) row-major: Vᵀ of A
        var vtPrime = [Double](repeating: 0, count: k * m)  // (k, m) column-major = (m, k) row-major: U of A
        var jobu = Int8(UInt8(ascii: "S")), jobvt = Int8(UInt8(ascii: "S"))
        var rowsT = Int32(n), columnsT = Int32(m), lda = Int32(n), ldu = Int32(n), ldvt = Int32(k)
        var info: Int32 = 0, lwork: Int32 = -1, query = 0.0
        Parallel.pinBLASThreads()  // LAPACK runs on OpenBLAS's threads otherwise
        dgesvd_(&jobu, &jobvt, &rowsT, &columnsT, &a, &lda, &s, &uPrime, &ldu, &vtPrime, &ldvt, &query, &lwork, &info)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(Int(lwork), 1))
        dgesvd_(&jobu, &jobvt, &rowsT, &columnsT, &a, &lda, &s, &uPrime, &ldu, &vtPrime, &ldvt, &work, &lwork, &info)
        guard info == 0 else { throw Failure(info: info) }
        u = vtPrime
        singularValues = s
        vt = uPrime
        rows = m
        columns = n
    }
}

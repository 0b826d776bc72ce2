import CDNNL
import Foundation

/// Which library computes a float32 product (`MatrixProduct.gemm`, `Parallel.sgemm`). Same
/// contract and the same numbers up to float32 re-association either way.
public enum Float32Kernel: String, Sendable, CaseIterable {
    /// OpenBLAS `cblas_sgemm` (`BLAS.sgemm`), the default of every product.
    case openBLAS = "openblas"
    /// oneDNN's `dnnl_sgemm` (`OneDNNFloat32.sgemm`): its JIT AVX-512 kernels.
    case oneDNN = "onednn"

    /// `FTTRAIN_FLOAT32_KERNEL` (`openblas` or `onednn`) when set to one of them, else `fallback`:
    /// lets one binary run both kernels for an A/B measurement.
    public static func fromEnvironment(default fallback: Float32Kernel) -> Float32Kernel {
        ProcessInfo.processInfo.environment["FTTRAIN_FLOAT32_KERNEL"].flatMap { Float32Kernel(rawValue: $0.lowercased()) }
            ?? fallback
    }
}

/// float32 products on oneDNN's `dnnl_sgemm` (row-major, the contract of `BLAS.sgemm`).
///
/// Why: measured in thread CPU time on this machine's AVX-512 cores, one thread per product as
/// `Parallel.sgemm` runs them (`dnnl_sgemm` against OpenBLAS 0.3.21's SkylakeX `cblas_sgemm`),
/// oneDNN is 8–15% faster on a prompt's products (128 × {480, 1536, 288} × {576, 1536}) and
/// 0–15% on a training step's (1024-row forward NT, 512-row backward NN, the 49,152-row head):
/// never slower by more than noise. The weights are packed by oneDNN on every call as OpenBLAS
/// packs them; nothing is cached between calls.
///
/// Thread use: oneDNN here is built on OpenMP; each call runs on the calling thread alone (its
/// OpenMP team is set to one thread), because fttrain's slices (`Parallel`) already use the cores.
public enum OneDNNFloat32 {
    /// `omp_set_num_threads` of the OpenMP runtime oneDNN is linked with (nil if it has none).
    private static let setOpenMPThreads: (@convention(c) (Int32) -> Void)? = {
        let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads")
        return symbol.map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }
    }()

    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, all row-major, on the calling thread.
    /// Same layout contract as `BLAS.sgemm` (`beta = 0` overwrites C, NaNs included).
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0, k > 0 else {
            // The edge cases (nothing to multiply, or C only scaled by beta) as BLAS.sgemm has them.
            BLAS.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        setOpenMPThreads?(1)
        let status = dnnl_sgemm(
            CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
            dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb),
            beta, c, dnnl_dim_t(ldc))
        if status != dnnl_success {
            fatalError(
                "oneDNN: dnnl_sgemm(\(transA ? "T" : "N")\(transB ? "T" : "N"), m \(m), n \(n), k \(k), lda \(lda), ldb \(ldb), ldc \(ldc)) failed (status \(status.rawValue))"
            )
        }
    }
}

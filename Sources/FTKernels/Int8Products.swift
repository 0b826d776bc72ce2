import CInt8
import Foundation

/// The kernel that runs INT8 products (`Int8Products.kernel`).
public enum Int8Kernel: String, Sendable, CaseIterable {
    /// oneDNN's matmul (brgemm, `vpdpbusd`) over weights reordered once into its blocked layout
    /// (`Int8OneDNN`); VNNI CPUs only.
    case onednn
    /// Own AVX-512 VNNI kernel (`vpdpbusd`: four u8·s8 products summed into each int32 lane).
    case vnni
    /// Plain C over the same packed layout (any CPU; exact by construction).
    case portable
}

/// u8 × s8 → s32 matrix products over weights packed once (`Int8Weights`), the integer core of
/// dynamic INT8 inference (`Int8Linear`). Every kernel returns the exact integer sums (no
/// saturation): `Int8ProductTests` compares each with an integer triple loop.
public enum Int8Products {
    /// Whether this CPU has AVX-512 VNNI (avx512f, avx512bw and avx512vnni).
    public static let cpuHasVNNI: Bool = ft_int8_cpu_has_vnni() != 0

    /// The kernel products use: oneDNN where the CPU has VNNI, else the portable one.
    /// `FTTRAIN_INT8_KERNEL=portable|vnni|onednn` forces one (so each is tested on a VNNI
    /// machine); asking for `vnni` or `onednn` on a CPU without VNNI falls back to portable.
    nonisolated(unsafe) public static var kernel: Int8Kernel = defaultKernel(
        environment: ProcessInfo.processInfo.environment["FTTRAIN_INT8_KERNEL"])

    /// The kernel for the value of `FTTRAIN_INT8_KERNEL` (nil: not set).
    public static func defaultKernel(environment value: String?) -> Int8Kernel {
        if let value, let forced = Int8Kernel(rawValue: value.lowercased()) {
            return forced != .portable && !cpuHasVNNI ? .portable : forced
        }
        return cpuHasVNNI ? .onednn : .portable
    }

    /// Bytes of an `(n, k)` weight matrix once packed: ceil(n/16) · ceil(k/4) · 64.
    public static func packedSize(outputs n: Int, inputs k: Int) -> Int { Int(ft_int8_packed_size(Int32(n), Int32(k))) }

    /// Packs `b (n, k)` (row stride `ldb`) into `packed` (`packedSize` bytes).
    public static func pack(_ b: UnsafePointer<Int8>, ldb: Int, outputs n: Int, inputs k: Int, into packed: UnsafeMutablePointer<Int8>) {
        ft_int8_pack(b, Int32(ldb), Int32(n), Int32(k), packed)
    }

    /// `c (m, n) = a (m, k) · bᵀ` in int32, b packed by `pack` (`.onednn` runs the own VNNI
    /// kernel here: oneDNN needs the weights' own layout, `Int8Weights.product`). Rows of `a` are read
    /// `paddedInputs(k)` bytes long (`lda` at least that): the bytes past `k` meet packed zeros.
    public static func product(
        a: UnsafePointer<UInt8>, lda: Int, packed: UnsafePointer<Int8>, c: UnsafeMutablePointer<Int32>, ldc: Int,
        m: Int, n: Int, k: Int, kernel: Int8Kernel = Int8Products.kernel
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            return
        }
        if kernel != .portable && cpuHasVNNI {
            ft_int8_gemm_vnni(a, Int32(lda), packed, c, Int32(ldc), Int32(m), Int32(n), Int32(k))
        } else {
            ft_int8_gemm_portable(a, Int32(lda), packed, c, Int32(ldc), Int32(m), Int32(n), Int32(k))
        }
    }

    /// `k` rounded up to the kernels' group of 4 bytes: the row length of quantised activations.
    public static func paddedInputs(_ k: Int) -> Int { (k + 3) / 4 * 4 }
}

import CInt8
import Foundation

/// The kernel that runs INT8 products (`Int8Products.kernel`).
public enum Int8Kernel: String, Sendable, CaseIterable {
    /// oneDNN's matmul (brgemm, `vpdpbusd`) over weights reordered once into its blocked layout
    /// (`Int8OneDNN`); VNNI CPUs only.
    case onednn
    /// Own AVX-512 VNNI kernel (`vpdpbusd`: four u8·s8 products summed into each int32 lane).
    case vnni
    /// Own AVX2 kernel for CPUs without AVX-512 VNNI: bytes widened to 16 bits, `vpmaddwd` into
    /// exact int32 pair sums (never `vpmaddubsw`, whose int16 sums saturate).
    case avx2
    /// Plain C over the same packed layout (any CPU; exact by construction).
    case portable
}

/// u8 × s8 → s32 matrix products over weights packed once (`Int8Weights`), the integer core of
/// dynamic INT8 inference (`Int8Linear`). Every kernel returns the exact integer sums (no
/// saturation): `Int8ProductTests` compares each with an integer triple loop.
public enum Int8Products {
    /// Whether this CPU has AVX-512 VNNI (avx512f, avx512bw and avx512vnni).
    public static let cpuHasVNNI: Bool = ft_int8_cpu_has_vnni() != 0
    /// Whether this CPU has AVX2 (cpuid).
    public static let cpuHasAVX2: Bool = ft_int8_cpu_has_avx2() != 0

    /// The kernel products use: oneDNN where the CPU has VNNI, else the AVX2 kernel where it has
    /// AVX2, else the portable one. `FTTRAIN_INT8_KERNEL=portable|avx2|vnni|onednn` forces one (so
    /// each is tested on a VNNI machine); a kernel the CPU cannot run falls back to the best one
    /// below it (`vnni`, `onednn` → `avx2` → `portable`).
    nonisolated(unsafe) public static var kernel: Int8Kernel = defaultKernel(
        environment: ProcessInfo.processInfo.environment["FTTRAIN_INT8_KERNEL"])

    /// The kernel for the value of `FTTRAIN_INT8_KERNEL` (nil: not set) on a CPU with (or without)
    /// VNNI and AVX2 (by default this one's).
    public static func defaultKernel(
        environment value: String?, hasVNNI: Bool = cpuHasVNNI, hasAVX2: Bool = cpuHasAVX2
    ) -> Int8Kernel {
        let wanted = value.flatMap { Int8Kernel(rawValue: $0.lowercased()) } ?? .onednn
        return runnable(wanted, hasVNNI: hasVNNI, hasAVX2: hasAVX2)
    }

    /// `kernel`, or the best kernel below it that a CPU with (or without) VNNI and AVX2 runs.
    public static func runnable(_ kernel: Int8Kernel, hasVNNI: Bool = cpuHasVNNI, hasAVX2: Bool = cpuHasAVX2) -> Int8Kernel {
        switch kernel {
        case .onednn where hasVNNI, .vnni where hasVNNI: return kernel
        case .onednn, .vnni, .avx2: return hasAVX2 ? .avx2 : .portable
        case .portable: return .portable
        }
    }

    /// The own kernel (over the packed layout) that runs for `kernel` on this CPU: `.onednn` runs
    /// the own VNNI kernel on packed weights.
    static func ownKernel(_ kernel: Int8Kernel) -> Int8Kernel {
        let k = runnable(kernel)
        return k == .onednn ? .vnni : k
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
        switch ownKernel(kernel) {
        case .vnni, .onednn: ft_int8_gemm_vnni(a, Int32(lda), packed, c, Int32(ldc), Int32(m), Int32(n), Int32(k))
        case .avx2: ft_int8_gemm_avx2(a, Int32(lda), packed, c, Int32(ldc), Int32(m), Int32(n), Int32(k))
        case .portable: ft_int8_gemm_portable(a, Int32(lda), packed, c, Int32(ldc), Int32(m), Int32(n), Int32(k))
        }
    }

    /// `k` rounded up to the kernels' group of 4 bytes: the row length of quantised activations.
    public static func paddedInputs(_ k: Int) -> Int { (k + 3) / 4 * 4 }
}

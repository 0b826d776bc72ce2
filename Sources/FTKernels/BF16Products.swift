import CDNNL
import Foundation

/// The arithmetic of a matrix product.
public enum MatrixPrecision: String, Sendable, CaseIterable {
    /// float32 inputs and accumulation (OpenBLAS `sgemm`).
    case float32
    /// Inputs rounded to bfloat16 (nearest, ties to even), products accumulated in float32, as
    /// PyTorch's `torch.autocast("cpu", dtype=torch.bfloat16)` computes `nn.Linear`.
    case bfloat16
}

/// bfloat16 matrix products with float32 accumulation, on oneDNN's `matmul` (its brgemm kernels
/// use `vdpbf16ps` where the CPU has `avx512_bf16`).
///
/// Why oneDNN and not an own kernel: measured on fttrain's products (forward NT, backward NN and
/// TN; `scripts/anchors/bf16_products.c`), oneDNN's bf16 matmul reaches 180–187 GFLOP/s on one
/// quiet Zen 4 core against 75–87 for OpenBLAS `sgemm`; Swift cannot emit `vdpbf16ps`, and a C
/// kernel with intrinsics that matches brgemm's blocking is weeks of tuning. The inputs are
/// rounded to bf16 here (one pass over A and B, O(mk + kn) against the product's O(mnk)), so
/// oneDNN sees plain strided bf16 matrices and writes (or, with `beta`, adds to) float32 C.
///
/// Dispatch at run time: without `avx512_bf16` (or with `FTTRAIN_BF16_FALLBACK=1`, or
/// `forceFallback` set), products run in float32 on OpenBLAS — the same results as
/// `MatrixPrecision.float32` — and a one-line note says so once on stderr.
///
/// Thread use: oneDNN here is built on OpenMP; each call runs on the calling thread alone (its
/// OpenMP team is set to one thread), because fttrain's slices (`Parallel`) already use the cores.
public enum BF16Products {
    /// Forces the float32 fallback (tests use it to cover that path on any CPU).
    nonisolated(unsafe) public static var forceFallback: Bool =
        ProcessInfo.processInfo.environment["FTTRAIN_BF16_FALLBACK"].map { $0 != "" && $0 != "0" } ?? false

    /// Whether the CPU has `avx512_bf16`, as oneDNN detects it.
    public static let cpuHasBF16: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }()

    /// Whether bf16 products run on bf16 instructions now (else the float32 fallback).
    public static var usesBF16Instructions: Bool { cpuHasBF16 && !forceFallback }

    private static let fallbackNote: Void = {
        let reason = cpuHasBF16 ? "the fallback is forced (FTTRAIN_BF16_FALLBACK)" : "this CPU has no avx512_bf16"
        FileHandle.standardError.write(Data("note: bf16 products run in float32 (\(reason))\n".utf8))
    }()

    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, row-major, the inputs rounded to bf16 and the
    /// products accumulated in float32. Same layout contract as `BLAS.sgemm`.
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard usesBF16Instructions, m > 0, n > 0, k > 0 else {
            if !usesBF16Instructions { _ = fallbackNote }
            BLAS.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // op(A) and op(B) as dense bf16 copies in their stored orientation.
        let aRows = transA ? k : m, aColumns = transA ? m : k
        let bRows = transB ? n : k, bColumns = transB ? k : n
        let scratch = Scratch.current
        let (a16, b16) = scratch.reserve(aRows * aColumns, bRows * bColumns)
        BF16Conversion.round(a, rows: aRows, columns: aColumns, stride: lda, into: a16)
        BF16Conversion.round(b, rows: bRows, columns: bColumns, stride: ldb, into: b16)
        let key = PrimitiveKey(m: m, n: n, k: k, transA: transA, transB: transB, ldc: ldc, alpha: alpha, beta: beta)
        let primitive = scratch.primitive(for: key)
        OneDNN.shared.execute(primitive, a: a16, b: b16, c: c)
    }
}

/// The shape and attributes one cached oneDNN primitive serves.
struct PrimitiveKey: Hashable {
    let m, n, k: Int
    let transA, transB: Bool
    let ldc: Int
    let alpha, beta: Float
}

/// A oneDNN matmul primitive and the scratchpad bytes it needs.
struct MatmulPrimitive {
    let primitive: dnnl_primitive_t
    let scratchpadBytes: Int
}

/// What one thread owns for its bf16 products: bf16 copies of the operands (grown as needed,
/// never shrunk) and its own primitives (its stream and scratchpad are the thread's
/// `OneDNNThread`) — nothing of oneDNN's is executed by two threads at once.
final class Scratch {
    private static let slot = ThreadSlot { Scratch() }
    private var a: UnsafeMutablePointer<UInt16>?, b: UnsafeMutablePointer<UInt16>?
    private var aCapacity = 0, bCapacity = 0
    private var primitives: [PrimitiveKey: MatmulPrimitive] = [:]

    /// This thread's primitive for `key` (made on first use, under oneDNN's creation lock).
    func primitive(for key: PrimitiveKey) -> MatmulPrimitive {
        if let p = primitives[key] { return p }
        let p = OneDNN.shared.makePrimitive(for: key)
        primitives[key] = p
        return p
    }

    /// The calling thread's scratch.
    static var current: Scratch { slot.current }

    func reserve(_ aCount: Int, _ bCount: Int) -> (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>) {
        if aCount > aCapacity {
            a?.deallocate()
            a = .allocate(capacity: aCount)
            aCapacity = aCount
        }
        if bCount > bCapacity {
            b?.deallocate()
            b = .allocate(capacity: bCount)
            bCapacity = bCount
        }
        return (a!, b!)
    }

    deinit {
        a?.deallocate()
        b?.deallocate()
        for p in primitives.values { dnnl_primitive_destroy(p.primitive) }
    }
}

/// oneDNN's engine, and the creation of matmul primitives (one thread at a time). Each primitive
/// then runs on the thread that made it, with that thread's scratchpad (`scratchpad_mode_user`):
/// no oneDNN object is used by two threads at once.
final class OneDNN: @unchecked Sendable {
    static let shared = OneDNN()

    /// The CPU engine (shared with the INT8 products, `Int8OneDNN`).
    let engine: dnnl_engine_t
    private var lock = pthread_mutex_t()
    /// `omp_set_num_threads` of the OpenMP runtime oneDNN is linked with (nil if it has none).
    let setOpenMPThreads: (@convention(c) (Int32) -> Void)?

    private init() {
        var engine: dnnl_engine_t?
        OneDNN.check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        self.engine = engine!
        pthread_mutex_init(&lock, nil)
        let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads")
        setOpenMPThreads = symbol.map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }
    }

    static func check(_ status: dnnl_status_t, _ call: String) {
        if status != dnnl_success { fatalError("oneDNN: \(call) failed (status \(status.rawValue))") }
    }

    /// The matmul primitive for `key`: bf16 A (m, k) and B (k, n), dense in their stored
    /// orientation, float32 C with leading dimension ldc; `alpha` as output scale, `beta` as a
    /// sum post-op.
    func makePrimitive(for key: PrimitiveKey) -> MatmulPrimitive {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        var aDesc = dnnl_memory_desc_t(), bDesc = dnnl_memory_desc_t(), cDesc = dnnl_memory_desc_t()
        var aDims: dnnl_dims_t = tuple2(key.m, key.k), bDims: dnnl_dims_t = tuple2(key.k, key.n)
        var cDims: dnnl_dims_t = tuple2(key.m, key.n)
        var aStrides = tuple2(key.transA ? 1 : key.k, key.transA ? key.m : 1)
        var bStrides = tuple2(key.transB ? 1 : key.n, key.transB ? key.k : 1)
        var cStrides = tuple2(key.ldc, 1)
        func describe(
            _ desc: inout dnnl_memory_desc_t, _ dims: inout dnnl_dims_t, _ strides: inout dnnl_dims_t, _ type: dnnl_data_type_t, _ name: String
        ) {
            withUnsafePointer(to: &dims) { dims in
                withUnsafePointer(to: &strides) { strides in
                    let d = UnsafeRawPointer(dims).assumingMemoryBound(to: dnnl_dim_t.self)
                    let s = UnsafeRawPointer(strides).assumingMemoryBound(to: dnnl_dim_t.self)
                    OneDNN.check(dnnl_memory_desc_init_by_strides(&desc, 2, d, type, s), "memory_desc (\(name))")
                }
            }
        }
        describe(&aDesc, &aDims, &aStrides, dnnl_bf16, "A")
        describe(&bDesc, &bDims, &bStrides, dnnl_bf16, "B")
        describe(&cDesc, &cDims, &cStrides, dnnl_f32, "C")
        var desc = dnnl_matmul_desc_t()
        OneDNN.check(dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, nil, &cDesc), "dnnl_matmul_desc_init")
        var attr: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        if key.alpha != 1 {
            var scale = key.alpha
            OneDNN.check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale), "set_output_scales")
        }
        if key.beta != 0 {
            var ops: dnnl_post_ops_t?
            OneDNN.check(dnnl_post_ops_create(&ops), "dnnl_post_ops_create")
            defer { dnnl_post_ops_destroy(ops) }
            OneDNN.check(dnnl_post_ops_append_sum(ops, key.beta), "dnnl_post_ops_append_sum")
            OneDNN.check(dnnl_primitive_attr_set_post_ops(attr, ops), "set_post_ops")
        }
        var pd: dnnl_primitive_desc_t?
        OneDNN.check(dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil), "dnnl_primitive_desc_create (matmul)")
        defer { dnnl_primitive_desc_destroy(pd) }
        var p: dnnl_primitive_t?
        OneDNN.check(dnnl_primitive_create(&p, pd), "dnnl_primitive_create (matmul)")
        let scratchpadBytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0))
        return MatmulPrimitive(primitive: p!, scratchpadBytes: scratchpadBytes)
    }

    /// Runs `primitive` on the calling thread alone, with that thread's stream and scratchpad
    /// (`OneDNNThread`: made once per thread, not per product).
    func execute(
        _ matmul: MatmulPrimitive, a: UnsafeMutablePointer<UInt16>, b: UnsafeMutablePointer<UInt16>,
        c: UnsafeMutablePointer<Float>
    ) {
        setOpenMPThreads?(1)
        let primitive = matmul.primitive
        var pd: const_dnnl_primitive_desc_t?
        OneDNN.check(dnnl_primitive_get_primitive_desc(primitive, &pd), "get_primitive_desc")
        func memory(_ what: dnnl_query_t, _ handle: UnsafeMutableRawPointer) -> dnnl_memory_t {
            let desc = dnnl_primitive_desc_query_md(pd, what, 0)
            var memory: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&memory, desc, engine, handle), "dnnl_memory_create")
            return memory!
        }
        let ma = memory(dnnl_query_src_md, a), mb = memory(dnnl_query_weights_md, b), mc = memory(dnnl_query_dst_md, c)
        let thread = OneDNNThread.current
        let mp = thread.scratchpad(matmul.scratchpadBytes).map { memory(dnnl_query_scratchpad_md, $0) }
        defer {
            dnnl_memory_destroy(ma)
            dnnl_memory_destroy(mb)
            dnnl_memory_destroy(mc)
            if let mp { dnnl_memory_destroy(mp) }
        }
        let stream = thread.stream
        var args = [
            dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: ma), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: mb),
            dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: mc),
        ]
        if let mp { args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: mp)) }
        OneDNN.check(dnnl_primitive_execute(primitive, stream, Int32(args.count), &args), "dnnl_primitive_execute (matmul)")
        OneDNN.check(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }
}

/// A `dnnl_dims_t` (12 × Int64) holding two dimensions.
private func tuple2(_ x: Int, _ y: Int) -> dnnl_dims_t {
    var dims = dnnl_dims_t(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    dims.0 = dnnl_dim_t(x)
    dims.1 = dnnl_dim_t(y)
    return dims
}

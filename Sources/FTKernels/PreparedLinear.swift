import CDNNL
import Foundation

/// A linear layer's float32 weight `(out, in)` prepared once for inference: cut by output columns
/// into one part per slice thread, each part reordered into the blocked layout oneDNN's f32
/// `matmul` (brgemm) chooses for it — the same for every row count M (checked for MiniLM's shapes
/// at M = 1 … 4096, `scripts/anchors/small_products.c`).
///
/// Why: a served text is one short sequence (8–64 tokens), and OpenBLAS (or `dnnl_sgemm`) packs
/// the whole weight again for every product, which at so few rows costs about as much as the
/// arithmetic: measured in thread CPU time on this machine's AVX-512 cores for M = 16 (µs,
/// OpenBLAS 0.3.21 SkylakeX kernels / `dnnl_sgemm` / prepared matmul / one of two prepared halves):
/// 384 × 1152 242 / 148 / 92 / 43; 384 × 384 84 / 47 / 30 / 16; 384 × 1536 312 / 232 / 167 / 57;
/// 1536 × 384 341 / 284 / 139 / 69 (`scripts/anchors/small_products.c`). A half costs 0.34–0.53 of
/// the whole, so a single text's products run on both cores (one part each) rather than one: a
/// MiniLM layer's four products at 16 rows take 185 µs of each core's time against 979 on one.
///
/// The weights are a copy: changing the layer's float32 values afterwards does not reach them
/// (the model drops or re-makes its prepared weights, `EncoderModel.prepareForInference`). Where
/// oneDNN refuses a row count for a part's layout (not seen on AVX-512), that part runs on OpenBLAS
/// from `source`, the float32 weight the parts were made from.
public final class PreparedFloat32Weights: @unchecked Sendable {
    /// O and I.
    public let outputs: Int, inputs: Int
    /// The float32 weight `(outputs, inputs)` the parts were reordered from.
    let source: UnsafePointer<Float>
    /// One part per thread: its columns of the output and its reordered weights.
    let parts: [Part]
    /// How many parts (threads) the columns are cut into.
    public var partCount: Int { parts.count }

    struct Part {
        let columns: Range<Int>
        /// The blocked layout every primitive for this part is made with.
        let desc: dnnl_memory_desc_t
        /// The reordered values (64-byte aligned).
        let data: UnsafeMutableRawPointer
    }

    /// The row count the layout is chosen for (any M gives the same layout).
    static let nominalRows = 128

    /// Reorders `weight (outputs, inputs)` into `parts` column ranges (multiples of 16 columns;
    /// fewer parts when the layer is narrow). Nil when oneDNN has no f32 matmul for the shape.
    public init?(weight: UnsafePointer<Float>, outputs n: Int, inputs k: Int, parts: Int = Parallel.threadCount) {
        guard n > 0, k > 0 else { return nil }
        let block = 16, units = (n + block - 1) / block, count = max(1, min(parts, units))
        var made: [Part] = []
        for p in 0..<count {
            let start = min(n, units * p / count * block), end = min(n, units * (p + 1) / count * block)
            guard let part = Self.reorder(weight + start * k, columns: start..<end, inputs: k) else {
                for part in made { part.data.deallocate() }
                return nil
            }
            made.append(part)
        }
        outputs = n
        inputs = k
        source = weight
        self.parts = made
    }

    deinit { for part in parts { part.data.deallocate() } }

    /// Rows `columns` of the weight (starting at `rows`, each `k` long) as B (k, columns.count) in
    /// oneDNN's blocked layout.
    private static func reorder(_ rows: UnsafePointer<Float>, columns: Range<Int>, inputs k: Int) -> Part? {
        let n = columns.count
        let key = PreparedProductKey(m: nominalRows, n: n, k: k, lda: k, ldc: n, bias: false)
        guard let pd = PreparedLinear.descriptor(key, weights: nil) else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let plain = PreparedLinear.describe(rows: k, columns: n, strides: (1, k)) else { return nil }
        let blocked = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        let data = OneDNN.reorderedCopy(of: rows, from: plain, into: blocked, what: "float32 weights")
        return Part(columns: columns, desc: blocked, data: data)
    }
}

/// The shape one cached prepared-weight primitive serves (its weights' layout follows from n and k).
struct PreparedProductKey: Hashable {
    let m, n, k, lda, ldc: Int
    let bias: Bool
}

/// `nn.Linear`'s forward on `PreparedFloat32Weights`: `out (N, O) = input (N, I) · Wᵀ + bias`,
/// the inference path of the encoder's layer products (`EncoderModel.prepareForInference`).
/// Training never runs it: its products stay on `Linear` (OpenBLAS), whose results the
/// data-parallel and resume tests compare bit for bit across per-rank row counts.
///
/// The same numbers as `Linear.forward` up to float32 re-association (oneDNN sums in another
/// order and adds the bias in its epilogue): `PreparedLinearTests` bounds the difference.
public enum PreparedLinear {
    /// Overwrites `output (N, O)`. The weights' parts run on the slice threads (`Parallel`) when
    /// called outside a slice, else one after the other on the calling thread.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weights: PreparedFloat32Weights,
        bias: UnsafePointer<Float>?, rows N: Int
    ) {
        guard N > 0 else { return }
        let parts = weights.parts
        if parts.count > 1 && Parallel.sliceCount(of: parts.count) == parts.count {
            Parallel.forEachSlice(of: parts.count) { range in
                for p in range { product(parts[p], weights, output: output, input: input, bias: bias, rows: N) }
            }
        } else {
            for part in parts { product(part, weights, output: output, input: input, bias: bias, rows: N) }
        }
    }

    /// One part's columns of the output on the calling thread. oneDNN 2.6's brgemm matmul writes a
    /// dense C only (a row stride wider than the part's columns sends it to its reference kernel,
    /// ~100x slower), so a part of several is computed into the thread's dense rows and copied out.
    private static func product(
        _ part: PreparedFloat32Weights.Part, _ weights: PreparedFloat32Weights, output: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows m: Int
    ) {
        let k = weights.inputs, ldc = weights.outputs, start = part.columns.lowerBound, n = part.columns.count
        let key = PreparedProductKey(m: m, n: n, k: k, lda: k, ldc: n, bias: bias != nil)
        let scratch = PreparedScratch.current
        guard let matmul = scratch.primitive(for: key, weights: part.desc) else {
            if let bias { for r in 0..<m { (output + r * ldc + start).update(from: bias + start, count: n) } }
            BLAS.sgemm(
                transA: false, transB: true, m: m, n: n, k: k, a: input, lda: k, b: weights.source + start * k, ldb: k,
                beta: bias == nil ? 0 : 1, c: output + start, ldc: ldc)
            return
        }
        let dense = n == ldc ? output : scratch.rows(m * n)
        let engine = OneDNN.shared.engine, thread = OneDNNThread.current
        OneDNN.shared.setOpenMPThreads?(1)
        var pd: const_dnnl_primitive_desc_t?
        OneDNN.check(dnnl_primitive_get_primitive_desc(matmul.primitive, &pd), "get_primitive_desc")
        func memory(_ what: dnnl_query_t, _ index: Int32, _ handle: UnsafeMutableRawPointer) -> dnnl_memory_t {
            var memory: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&memory, dnnl_primitive_desc_query_md(pd, what, index), engine, handle), "dnnl_memory_create")
            return memory!
        }
        var args = [
            dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: memory(dnnl_query_src_md, 0, UnsafeMutableRawPointer(mutating: input))),
            dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: memory(dnnl_query_weights_md, 0, part.data)),
            dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: memory(dnnl_query_dst_md, 0, dense)),
        ]
        if let bias {
            let handle = UnsafeMutableRawPointer(mutating: bias + start)
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: memory(dnnl_query_weights_md, 1, handle)))
        }
        if let pad = thread.scratchpad(matmul.scratchpadBytes) {
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory(dnnl_query_scratchpad_md, 0, pad)))
        }
        defer { for arg in args { dnnl_memory_destroy(arg.memory) } }
        OneDNN.check(
            dnnl_primitive_execute(matmul.primitive, thread.stream, Int32(args.count), &args), "dnnl_primitive_execute (f32 matmul)")
        OneDNN.check(dnnl_stream_wait(thread.stream), "dnnl_stream_wait")
        if dense != output {
            for r in 0..<m { (output + r * ldc + start).update(from: dense + r * n, count: n) }
        }
    }

    private static let creation = NSLock()

    /// The matmul primitive descriptor for f32 A (m, k) row stride lda, B (k, n) in `weights`'
    /// layout (nil: oneDNN's choice), bias (1, n) when `key.bias`, f32 C (m, n) row stride ldc;
    /// nil when oneDNN has no implementation.
    static func descriptor(_ key: PreparedProductKey, weights: dnnl_memory_desc_t?) -> dnnl_primitive_desc_t? {
        creation.lock()
        defer { creation.unlock() }
        guard var aDesc = describe(rows: key.m, columns: key.k, strides: (key.lda, 1)),
            var cDesc = describe(rows: key.m, columns: key.n, strides: (key.ldc, 1)),
            var biasDesc = describe(rows: 1, columns: key.n, strides: (key.n, 1))
        else { return nil }
        var bDesc = dnnl_memory_desc_t()
        if let weights {
            bDesc = weights
        } else {
            var dims = dnnl_dims_t(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            dims.0 = dnnl_dim_t(key.k)
            dims.1 = dnnl_dim_t(key.n)
            let status = withUnsafePointer(to: &dims) { d in
                dnnl_memory_desc_init_by_tag(
                    &bDesc, 2, UnsafeRawPointer(d).assumingMemoryBound(to: dnnl_dim_t.self), dnnl_f32, dnnl_format_tag_any)
            }
            guard status == dnnl_success else { return nil }
        }
        var desc = dnnl_matmul_desc_t()
        let status =
            key.bias
            ? dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, &biasDesc, &cDesc) : dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, nil, &cDesc)
        guard status == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, attr, OneDNN.shared.engine, nil) == dnnl_success else { return nil }
        return pd
    }

    /// A 2-D f32 memory descriptor (rows, columns) with `strides`.
    static func describe(rows: Int, columns: Int, strides: (Int, Int)) -> dnnl_memory_desc_t? {
        var desc = dnnl_memory_desc_t()
        var dims = dnnl_dims_t(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), s = dims
        dims.0 = dnnl_dim_t(rows)
        dims.1 = dnnl_dim_t(columns)
        s.0 = dnnl_dim_t(strides.0)
        s.1 = dnnl_dim_t(strides.1)
        let status = withUnsafePointer(to: &dims) { d in
            withUnsafePointer(to: &s) { s in
                dnnl_memory_desc_init_by_strides(
                    &desc, 2, UnsafeRawPointer(d).assumingMemoryBound(to: dnnl_dim_t.self), dnnl_f32,
                    UnsafeRawPointer(s).assumingMemoryBound(to: dnnl_dim_t.self))
            }
        }
        return status == dnnl_success ? desc : nil
    }
}

/// One thread's primitives for prepared float32 products, per shape (made on first use).
final class PreparedScratch {
    private static let slot = ThreadSlot { PreparedScratch() }
    private var primitives: [PreparedProductKey: MatmulPrimitive?] = [:]
    private var dense: UnsafeMutablePointer<Float>?, denseCapacity = 0

    /// The calling thread's primitives.
    static var current: PreparedScratch { slot.current }

    /// Room for `count` floats of one part's dense output rows (grown as needed, never shrunk).
    func rows(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > denseCapacity {
            dense?.deallocate()
            dense = .allocate(capacity: count)
            denseCapacity = count
        }
        return dense!
    }

    /// This thread's primitive for `key` with the weights' layout `weights` (nil, and remembered,
    /// when oneDNN refuses it).
    func primitive(for key: PreparedProductKey, weights: dnnl_memory_desc_t) -> MatmulPrimitive? {
        if let known = primitives[key] { return known }
        var made: MatmulPrimitive?
        if let pd = PreparedLinear.descriptor(key, weights: weights) {
            defer { dnnl_primitive_desc_destroy(pd) }
            // oneDNN's reference kernel (what it falls back to for a layout its JIT kernels refuse)
            // is far slower than OpenBLAS: refused too.
            var implementation: UnsafePointer<CChar>?
            let isReference =
                dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation) == dnnl_success
                && implementation.map { String(cString: $0).hasPrefix("ref") } ?? false
            var p: dnnl_primitive_t?
            if !isReference, dnnl_primitive_create(&p, pd) == dnnl_success, let p {
                let bytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0))
                made = MatmulPrimitive(primitive: p, scratchpadBytes: bytes)
            }
        }
        primitives[key] = .some(made)
        return made
    }

    deinit {
        dense?.deallocate()
        for p in primitives.values { if let p { dnnl_primitive_destroy(p.primitive) } }
    }
}

import CDNNL
import Foundation

/// u8 × s8 → s32 products on oneDNN's `matmul` (its brgemm kernels, `vpdpbusd` on AVX-512 VNNI),
/// the `Int8Kernel.onednn` path of `Int8Weights.product`.
///
/// The weights are reordered ONCE (on their first oneDNN product) into the blocked layout oneDNN
/// chooses for their (K, N) — the same for every row count M (checked for MiniLM's shapes at
/// M = 1 … 4096), so each thread's primitives, cached per (M, N, K, lda, ldc), are created with
/// that layout given explicitly. oneDNN computes plain s32 sums (no zero points, no scales): the
/// zero-point correction and both scales stay in fttrain's own epilogue (`Int8Linear`), so the
/// result is the exact integer product on this path too (`Int8ProductTests`), and a model's
/// outputs are the same on every kernel.
///
/// Only where the CPU has VNNI: without it oneDNN's int8 kernels multiply through `vpmaddubsw`,
/// whose 16-bit pair sums saturate. Where oneDNN refuses a shape (a primitive cannot be made with
/// the blocked weights), the product runs on the own VNNI kernel instead.
///
/// Threads: as `BF16Products`, every primitive runs on the thread that made it, its OpenMP team
/// set to one thread, with that thread's primitives (`Int8Scratch`), stream and scratchpad (`OneDNNThread`).
enum Int8OneDNN {
    /// The row count the weights' layout is chosen for (any M gives the same layout).
    static let nominalRows = 128

    /// `c (m, n) = a (m, k) · bᵀ` in int32 with `weights` (b reordered); false when oneDNN has no
    /// primitive for this shape (the caller then runs its own kernel).
    static func product(
        _ weights: Int8OneDNNWeights, a: UnsafePointer<UInt8>, lda: Int, c: UnsafeMutablePointer<Int32>, ldc: Int, m: Int
    ) -> Bool {
        let scratch = Int8Scratch.current
        let key = Int8PrimitiveKey(m: m, n: weights.outputs, k: weights.inputs, lda: lda, ldc: ldc)
        guard let matmul = scratch.primitive(for: key, weights: weights) else { return false }
        let engine = OneDNN.shared.engine
        OneDNN.shared.setOpenMPThreads?(1)
        var pd: const_dnnl_primitive_desc_t?
        OneDNN.check(dnnl_primitive_get_primitive_desc(matmul.primitive, &pd), "get_primitive_desc")
        func memory(_ what: dnnl_query_t, _ handle: UnsafeMutableRawPointer) -> dnnl_memory_t {
            var memory: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&memory, dnnl_primitive_desc_query_md(pd, what, 0), engine, handle), "dnnl_memory_create")
            return memory!
        }
        let ma = memory(dnnl_query_src_md, UnsafeMutableRawPointer(mutating: a))
        let mb = memory(dnnl_query_weights_md, weights.data), mc = memory(dnnl_query_dst_md, c)
        let thread = OneDNNThread.current
        let mp = thread.scratchpad(matmul.scratchpadBytes).map { memory(dnnl_query_scratchpad_md, $0) }
        defer {
            dnnl_memory_destroy(ma)
            dnnl_memory_destroy(mb)
            dnnl_memory_destroy(mc)
            if let mp { dnnl_memory_destroy(mp) }
        }
        var args = [
            dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: ma), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: mb),
            dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: mc),
        ]
        if let mp { args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: mp)) }
        let stream = thread.stream
        OneDNN.check(dnnl_primitive_execute(matmul.primitive, stream, Int32(args.count), &args), "dnnl_primitive_execute (int8 matmul)")
        OneDNN.check(dnnl_stream_wait(stream), "dnnl_stream_wait")
        return true
    }

    private static let creation = NSLock()

    /// The matmul primitive descriptor for u8 A (m, k) row stride lda, s8 B (k, n) in `weights`'
    /// layout (nil: oneDNN's choice, `format_tag_any`), s32 C (m, n) row stride ldc; nil when
    /// oneDNN has no implementation.
    static func descriptor(_ key: Int8PrimitiveKey, weights: dnnl_memory_desc_t?) -> dnnl_primitive_desc_t? {
        creation.lock()
        defer { creation.unlock() }
        var aDesc = dnnl_memory_desc_t(), bDesc = dnnl_memory_desc_t(), cDesc = dnnl_memory_desc_t()
        var ok = describe(&aDesc, key.m, key.k, strides: (key.lda, 1), dnnl_u8)
        ok = ok && describe(&cDesc, key.m, key.n, strides: (key.ldc, 1), dnnl_s32)
        if let weights {
            bDesc = weights
        } else {
            var dims = dims2(key.k, key.n)
            ok =
                ok
                && withUnsafePointer(to: &dims) { d in
                    dnnl_memory_desc_init_by_tag(
                        &bDesc, 2, UnsafeRawPointer(d).assumingMemoryBound(to: dnnl_dim_t.self), dnnl_s8, dnnl_format_tag_any)
                        == dnnl_success
                }
        }
        guard ok else { return nil }
        var desc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, nil, &cDesc) == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, attr, OneDNN.shared.engine, nil) == dnnl_success else { return nil }
        return pd
    }

    /// A row-major 2-D memory descriptor (rows, columns) with `strides`.
    private static func describe(
        _ desc: inout dnnl_memory_desc_t, _ rows: Int, _ columns: Int, strides: (Int, Int), _ type: dnnl_data_type_t
    ) -> Bool {
        var dims = dims2(rows, columns), s = dims2(strides.0, strides.1)
        return withUnsafePointer(to: &dims) { d in
            withUnsafePointer(to: &s) { s in
                dnnl_memory_desc_init_by_strides(
                    &desc, 2, UnsafeRawPointer(d).assumingMemoryBound(to: dnnl_dim_t.self), type,
                    UnsafeRawPointer(s).assumingMemoryBound(to: dnnl_dim_t.self)) == dnnl_success
            }
        }
    }

    /// B (k, n) stored as the weights' rows (n, k): strides (1, k).
    static func plainWeightsDescriptor(outputs n: Int, inputs k: Int) -> dnnl_memory_desc_t? {
        var desc = dnnl_memory_desc_t()
        return describe(&desc, k, n, strides: (1, k), dnnl_s8) ? desc : nil
    }
}

/// A layer's int8 weights in oneDNN's blocked layout (reordered once from the (N, K) rows).
final class Int8OneDNNWeights: @unchecked Sendable {
    let outputs: Int, inputs: Int
    /// The blocked layout every primitive for these weights is made with.
    let desc: dnnl_memory_desc_t
    /// The reordered bytes (64-byte aligned).
    let data: UnsafeMutableRawPointer

    /// Reorders `values (n, k)`; nil when oneDNN has no matmul for (k, n) (no VNNI, or refused).
    init?(values: UnsafePointer<Int8>, outputs n: Int, inputs k: Int) {
        guard Int8Products.cpuHasVNNI, n > 0, k > 0,
            let pd = Int8OneDNN.descriptor(
                Int8PrimitiveKey(m: Int8OneDNN.nominalRows, n: n, k: k, lda: k, ldc: n), weights: nil),
            let plain = Int8OneDNN.plainWeightsDescriptor(outputs: n, inputs: k)
        else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        let blocked = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        outputs = n
        inputs = k
        desc = blocked
        data = OneDNN.reorderedCopy(of: values, from: plain, into: blocked, what: "int8 weights")
    }

    deinit { data.deallocate() }
}

/// The shape one cached INT8 primitive serves (its weights' layout follows from n and k).
struct Int8PrimitiveKey: Hashable {
    let m, n, k, lda, ldc: Int
}

/// What one thread owns for its INT8 products: the quantised activation rows and their scales
/// and zero points (grown as needed, never shrunk), and its oneDNN primitives (its stream and
/// scratchpad are the thread's `OneDNNThread`) — nothing is used by two threads at once.
final class Int8Scratch {
    private static let slot = ThreadSlot { Int8Scratch() }
    private(set) var rows: UnsafeMutablePointer<UInt8>?
    private(set) var scales: UnsafeMutablePointer<Float>?
    private(set) var zeroPoints: UnsafeMutablePointer<Int32>?
    private var byteCapacity = 0, rowCapacity = 0
    private var dense: UnsafeMutablePointer<Int32>?, denseCapacity = 0
    private var primitives: [Int8PrimitiveKey: MatmulPrimitive?] = [:]

    /// Room for `count` quantised rows of `stride` bytes, and their scales and zero points.
    func reserve(rows count: Int, stride: Int) -> (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) {
        if count * stride > byteCapacity {
            rows?.deallocate()
            byteCapacity = count * stride
            rows = .allocate(capacity: max(byteCapacity, 1))
        }
        if count > rowCapacity {
            scales?.deallocate()
            zeroPoints?.deallocate()
            rowCapacity = count
            scales = .allocate(capacity: max(count, 1))
            zeroPoints = .allocate(capacity: max(count, 1))
        }
        return (rows!, scales!, zeroPoints!)
    }

    /// Room for `count` int32 sums: one part's dense output rows (`Int8Linear`'s column split).
    func sums(count: Int) -> UnsafeMutablePointer<Int32> {
        if count > denseCapacity {
            dense?.deallocate()
            denseCapacity = count
            dense = .allocate(capacity: max(count, 1))
        }
        return dense!
    }

    /// This thread's primitive for `key` with `weights`' layout (made on first use; nil, and
    /// remembered, when oneDNN refuses it).
    func primitive(for key: Int8PrimitiveKey, weights: Int8OneDNNWeights) -> MatmulPrimitive? {
        if let known = primitives[key] { return known }
        var made: MatmulPrimitive?
        if let pd = Int8OneDNN.descriptor(key, weights: weights.desc) {
            defer { dnnl_primitive_desc_destroy(pd) }
            var p: dnnl_primitive_t?
            if dnnl_primitive_create(&p, pd) == dnnl_success, let p {
                let bytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0))
                made = MatmulPrimitive(primitive: p, scratchpadBytes: bytes)
            }
        }
        primitives[key] = .some(made)
        return made
    }

    /// The calling thread's scratch.
    static var current: Int8Scratch { slot.current }

    deinit {
        rows?.deallocate()
        scales?.deallocate()
        zeroPoints?.deallocate()
        dense?.deallocate()
        for p in primitives.values { if let p { dnnl_primitive_destroy(p.primitive) } }
    }
}

/// A `dnnl_dims_t` holding two dimensions.
private func dims2(_ x: Int, _ y: Int) -> dnnl_dims_t {
    var dims = dnnl_dims_t(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    dims.0 = dnnl_dim_t(x)
    dims.1 = dnnl_dim_t(y)
    return dims
}

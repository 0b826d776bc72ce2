import CDNNL

extension OneDNN {
    /// A copy of `source`, laid out as `plain`, reordered into `blocked` (a layout a primitive
    /// descriptor chose for its weights): newly allocated (64-byte aligned, at least 64 bytes), the
    /// caller deallocates it. The weight preparation of `PreparedFloat32Weights` (float32) and
    /// `Int8OneDNNWeights` (int8): run once per weight, on the calling thread's stream, its OpenMP
    /// team set to one thread. `what` names the weights in a failure's message.
    static func reorderedCopy(
        of source: UnsafeRawPointer, from plain: dnnl_memory_desc_t, into blocked: dnnl_memory_desc_t, what: String
    ) -> UnsafeMutableRawPointer {
        var plain = plain, blocked = blocked
        let data = UnsafeMutableRawPointer.allocate(byteCount: max(dnnl_memory_desc_get_size(&blocked), 64), alignment: 64)
        let engine = shared.engine, thread = OneDNNThread.current
        shared.setOpenMPThreads?(1)
        var rpd: dnnl_primitive_desc_t?, reorder: dnnl_primitive_t?
        check(dnnl_reorder_primitive_desc_create(&rpd, &plain, engine, &blocked, engine, nil), "reorder (\(what))")
        defer { dnnl_primitive_desc_destroy(rpd) }
        check(dnnl_primitive_create(&reorder, rpd), "dnnl_primitive_create (reorder)")
        defer { dnnl_primitive_destroy(reorder) }
        var from: dnnl_memory_t?, to: dnnl_memory_t?
        check(dnnl_memory_create(&from, &plain, engine, UnsafeMutableRawPointer(mutating: source)), "dnnl_memory_create")
        check(dnnl_memory_create(&to, &blocked, engine, data), "dnnl_memory_create")
        defer {
            dnnl_memory_destroy(from)
            dnnl_memory_destroy(to)
        }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
        check(dnnl_primitive_execute(reorder, thread.stream, 2, &args), "dnnl_primitive_execute (reorder)")
        check(dnnl_stream_wait(thread.stream), "dnnl_stream_wait")
        return data
    }
}

import CDNNL
import Foundation

/// One object per thread, made on the thread's first `current` and released when the thread ends
/// (a `pthread_key_t` with a destructor): the per-thread scratch of the oneDNN products
/// (`OneDNNThread`, `Int8Scratch`, bf16's `Scratch`, `PreparedLinear`'s primitives), so nothing is
/// used by two threads at once and no lock is taken on the product path.
final class ThreadSlot<Value: AnyObject>: @unchecked Sendable {
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    /// A slot whose value is `make()` on each thread's first use.
    init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        // Not inside a `precondition`: FTKernels is built -Ounchecked, where its condition is not evaluated.
        let status = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
        }
        if status != 0 { fatalError("pthread_key_create failed (\(status))") }
        self.key = key
        self.make = make
    }

    /// The calling thread's value.
    var current: Value {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as! Value
        }
        let value = make()
        pthread_setspecific(key, Unmanaged.passRetained(value as AnyObject).toOpaque())
        return value
    }
}

/// What every oneDNN product of one thread shares: its stream and its scratchpad (primitives are
/// made with `scratchpad_mode_user`; the pad is grown as needed, never shrunk).
final class OneDNNThread {
    private static let slot = ThreadSlot { OneDNNThread() }
    private var pad: UnsafeMutableRawPointer?, padCapacity = 0
    private var ownStream: dnnl_stream_t?

    /// The calling thread's oneDNN state.
    static var current: OneDNNThread { slot.current }

    /// At least `bytes` of scratchpad, 64-byte aligned (nil for none).
    func scratchpad(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes > 0 else { return nil }
        if bytes > padCapacity {
            pad?.deallocate()
            pad = .allocate(byteCount: bytes, alignment: 64)
            padCapacity = bytes
        }
        return pad
    }

    /// This thread's oneDNN stream (made once).
    var stream: dnnl_stream_t {
        if let ownStream { return ownStream }
        var made: dnnl_stream_t?
        OneDNN.check(dnnl_stream_create(&made, OneDNN.shared.engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        ownStream = made
        return made!
    }

    deinit {
        pad?.deallocate()
        if let ownStream { dnnl_stream_destroy(ownStream) }
    }
}

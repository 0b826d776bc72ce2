import CMPI

/// Turning MPI return codes into `CommunicatorError`s.
///
/// `MPICommunicator` sets `MPI_ERRORS_RETURN` on its communicator, so every MPI call returns a
/// code instead of aborting the job; a code other than `MPI_SUCCESS` becomes
/// `CommunicatorError(.transport)` whose message is `MPI_Error_string`'s text plus the code, with
/// the operation and the peer involved.
public enum MPIError {
    /// The text `MPI_Error_string` gives for `code` (the bare number if MPI cannot say).
    public static func string(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(ft_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == ft_mpi_success() else {
            return "unknown MPI error \(code)"
        }
        let bytes = buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The error thrown for a failed MPI call.
    public static func error(code: Int32, operation: String, peer: Int? = nil) -> CommunicatorError {
        CommunicatorError(
            .transport, peer: peer, operation: operation,
            message: "\(string(for: code)) [MPI error code \(code)]")
    }

    /// Throws `error(code:operation:peer:)` unless `code` is `MPI_SUCCESS`.
    @inline(__always)
    static func check(_ code: Int32, _ operation: @autoclosure () -> String, peer: Int? = nil) throws {
        if code != ft_mpi_success() {
            throw error(code: code, operation: operation(), peer: peer)
        }
    }

    static func invalid(_ operation: String, _ reason: String, peer: Int? = nil) -> CommunicatorError {
        CommunicatorError(.invalidArgument, peer: peer, operation: operation, message: reason)
    }
}

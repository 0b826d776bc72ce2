import CBLAS
import Foundation

/// OpenBLAS's choice of kernels for this CPU, corrected where its detection gives up.
///
/// A `DYNAMIC_ARCH` OpenBLAS picks its kernels from the CPU model at load time; a model newer than
/// the library (Debian's 0.3.21 on an Emerald Rapids Xeon, family 6 model 207) falls back to
/// `Prescott`, SSE3 kernels at a quarter of the width the CPU has. Measured on 2 such cores, the
/// SmolLM2 LoRA step (`fttrain bench --mode lora`, 4 × 256 tokens, 86 % of it in `sgemm`) took
/// 66.1 s with Prescott's kernels and 23.5 s with SkylakeX's. So when OpenBLAS fell back to
/// Prescott on its own (no `OPENBLAS_CORETYPE` given) and the kernel reports AVX-512 (or AVX2 and
/// FMA), it is re-initialised with the SkylakeX (or Haswell) kernels, as `OPENBLAS_CORETYPE` would
/// have chosen them. Products are float32 either way; only the summation order changes.
public enum OpenBLASKernels {
    /// The kernel set OpenBLAS uses now (`openblas_get_corename`), e.g. "SkylakeX".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The core chosen by `selectForThisCPU` when it changed anything (nil: OpenBLAS's own choice).
    nonisolated(unsafe) public private(set) static var selectedCore: String?

    /// Re-initialises OpenBLAS with the widest kernels the CPU runs when its own detection fell
    /// back to Prescott. Call before the first product (`Parallel` does, before its first slice):
    /// products read the kernel table at each call, so none may run concurrently with this.
    static func selectForThisCPU() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, coreName == "Prescott" else { return }
        let flags = cpuFlags()
        let core: String
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
            core = "SkylakeX"
        } else if ["avx2", "fma"].allSatisfy(flags.contains) {
            core = "Haswell"
        } else {
            return
        }
        // Exported by DYNAMIC_ARCH builds only; a single-target build has nothing to re-select.
        typealias Entry = @convention(c) () -> Void
        guard let library = dlopen(nil, RTLD_NOW) else { return }
        defer { dlclose(library) }
        guard let quit = dlsym(library, "gotoblas_dynamic_quit"), let initialize = dlsym(library, "gotoblas_dynamic_init")
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Entry.self)()  // forgets the table, so init reads the variable again
        unsafeBitCast(initialize, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")
        if coreName == core { selectedCore = core }
    }

    /// The feature flags the kernel reports for the first CPU (`/proc/cpuinfo`; empty elsewhere).
    static func cpuFlags() -> Set<Substring> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " "))
    }
}

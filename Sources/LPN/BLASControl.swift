import CKernels
import COpenBLAS
import TensorIO
import Support

/// Sets OpenBLAS's thread count for the process. BLAS threads × worker threads should not
/// exceed the cores; call once, before any work.
public func openBLASSetThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}

/// Multiplies two random n×n matrices `repetitions` times and returns the achieved GFLOP/s:
/// the machine's sgemm reference for benchmarks.
public func measureSgemmGFLOPS(size n: Int = 1024, repetitions: Int = 5) -> Double {
    var rng = SplitMix64(seed: 12345)
    let a = (0..<(n * n)).map { _ in Float(rng.nextUnit() - 0.5) }, b = (0..<(n * n)).map { _ in Float(rng.nextUnit() - 0.5) }
    var c = [Float](repeating: 0, count: n * n)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = MonotonicClock.seconds()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        best = min(best, MonotonicClock.seconds() - start)
    }
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
}

/// The kernel set OpenBLAS chose for this CPU at load time ("Haswell", "SkylakeX", …).
public func openBLASCoreName() -> String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
}

/// OpenBLAS's kernel choice against what the CPU can do.
///
/// OpenBLAS picks its kernels once, when the library loads, from a table of CPU models; a
/// release older than the CPU (Debian 12 ships 0.3.21, which predates Emerald Rapids) falls back
/// to its generic SSE3 "Prescott" kernels, a quarter of the sgemm rate an AVX-512 core reaches.
/// The environment variable OPENBLAS_CORETYPE, read at load time, overrides the table.
public enum OpenBLASCoreChoice {
    /// Kernel sets that use AVX2 or better.
    static let vectorCores: Set<String> = ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"]

    /// The core to request instead of `current` on this CPU, or nil when the choice is right.
    public static func replacement(for current: String) -> String? {
        guard !vectorCores.contains(current) else { return nil }
        if lpn_cpu_has_avx512() != 0 { return "SkylakeX" }
        if lpn_cpu_has_avx2_fma() != 0 { return "Haswell" }
        return nil
    }

    /// The engine's element-wise kernels' instruction set ("avx512", "avx2" or "sse2").
    public static var kernelLevel: String { String(cString: lpn_kernel_level_name()) }
}

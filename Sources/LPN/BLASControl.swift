import COpenBLAS
import TensorIO

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

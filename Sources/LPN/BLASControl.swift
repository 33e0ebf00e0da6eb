import COpenBLAS

/// Sets OpenBLAS's thread count for the process. BLAS threads × worker threads should not
/// exceed the cores; call once, before any work.
public func openBLASSetThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}

/// Multiplies two random n×n matrices `repetitions` times and returns the achieved GFLOP/s:
/// the machine's sgemm reference for benchmarks.
public func measureSgemmGFLOPS(size n: Int = 1024, repetitions: Int = 5, clock: () -> Double) -> Double {
    var a = [Float](repeating: 0, count: n * n), b = a, c = a
    var state: UInt32 = 12345
    for i in 0..<(n * n) {
        state = state &* 1664525 &+ 1013904223
        a[i] = Float(state >> 8) / Float(1 << 24) - 0.5
        b[i] = Float(state >> 9) / Float(1 << 23) - 0.5
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = clock()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        best = min(best, clock() - start)
    }
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
}

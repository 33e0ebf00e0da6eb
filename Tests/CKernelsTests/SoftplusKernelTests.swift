import CKernels
import Foundation
import Testing

/// The fused bias + softplus kernel at every instruction-set level this CPU has, against
/// softplus and its slope computed in double precision with libm.
@Suite struct SoftplusKernelTests {
    /// Pre-activations across the branches: far negative (e^{βt} underflows), around 0, around
    /// the threshold βt = 20, and far positive.
    static func inputs(beta: Float) -> [Float] {
        var values: [Float] = []
        for i in 0..<4001 { values.append(Float(i - 2000) * 0.0125 / beta) }  // βt ∈ [−25, 25]
        values += [-1e4, -200, -90, -88, -87, -20, 20, 20.0001, 87, 1e4].map { $0 / beta }
        return values
    }

    /// From βt as the kernel rounds it (float), so only the kernel's own error remains.
    static func reference(_ t: Float, beta: Float) -> (value: Double, slope: Double) {
        let bt = Double(t * beta), beta = Double(beta)
        if bt > 20 { return (Double(t), 1) }
        let value = (max(bt, 0) + log1p(exp(-abs(bt)))) / beta
        let slope = bt < 0 ? exp(bt) / (1 + exp(bt)) : 1 / (1 + exp(-bt))
        return (value, slope)
    }

    @Test(arguments: [Float(1), 100])
    func everyLevelMatchesDoublePrecision(beta: Float) {
        let pre = Self.inputs(beta: beta)
        let bias: [Float] = [0.25, -0.5]
        for level in 0...Int(lpn_kernel_level()) {
            var values = pre + pre, slopes = [Float](repeating: .nan, count: 2 * pre.count)
            lpn_bias_softplus_at(Int32(level), &values, &slopes, bias, 2, pre.count, beta)
            for c in 0..<2 {
                for (i, x) in pre.enumerated() {
                    let t = x + bias[c]  // the kernel adds the bias in float
                    let (value, slope) = Self.reference(t, beta: beta)
                    let v = Double(values[c * pre.count + i]), s = Double(slopes[c * pre.count + i])
                    // A few ulps; below e^{−87} (≈ 1.6e-38) the kernel's exponential is clamped.
                    #expect(abs(v - value) <= 5e-7 * abs(value) + 2e-38,
                            "level \(level), β \(beta), t \(t): σ \(v) vs \(value)")
                    #expect(abs(s - slope) <= 5e-7 * slope + 2e-38,
                            "level \(level), β \(beta), t \(t): σ' \(s) vs \(slope)")
                }
            }
        }
    }

    /// A value's result does not depend on where it sits in the run (vector body or scalar
    /// tail, any alignment): the engine applies the kernel to rows of a rectangle as well as to
    /// whole planes and relies on the two agreeing bit for bit.
    @Test func resultsDoNotDependOnPositionInTheRun() {
        let pre = Self.inputs(beta: 100)
        let bias: [Float] = [0.25]
        for level in 0...Int(lpn_kernel_level()) {
            var whole = pre, wholeSlopes = [Float](repeating: 0, count: pre.count)
            lpn_bias_softplus_at(Int32(level), &whole, &wholeSlopes, bias, 1, pre.count, 100)
            for (start, count) in [(1, 37), (3, 5), (17, 100), (2000, 1), (4001, 10)] {
                var part = Array(pre[start..<(start + count)]), partSlopes = [Float](repeating: 0, count: count)
                lpn_bias_softplus_at(Int32(level), &part, &partSlopes, bias, 1, count, 100)
                #expect(part == Array(whole[start..<(start + count)]), "level \(level), values from \(start)")
                #expect(partSlopes == Array(wholeSlopes[start..<(start + count)]), "level \(level), slopes from \(start)")
            }
        }
    }

    @Test func flushDenormalsRestoresTheMode() {
        let before = lpn_flush_denormals()
        var values: [Float] = [.leastNormalMagnitude]
        let half: [Float] = [0.5]
        lpn_multiply(&values, half, 1)  // a subnormal result without FTZ (in C: not folded away)
        lpn_restore_fp_mode(before)
        #expect(values[0] == 0, "FTZ flushes subnormal results")
        values = [.leastNormalMagnitude]
        lpn_multiply(&values, half, 1)
        #expect(values[0] > 0, "outside, subnormals are kept")
        let after = lpn_flush_denormals()
        lpn_restore_fp_mode(after)
        // The control bits are restored; the low six bits are sticky exception flags.
        #expect(after & ~0x3F == before & ~0x3F, "the previous mode is restored")
    }
}

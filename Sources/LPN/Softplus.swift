import Foundation

/// Softplus with sharpness β as PyTorch computes it (threshold 20):
/// σ(t) = t when βt > 20, else log(1 + e^{βt}) / β; σ'(t) = 1 or e^{βt} / (1 + e^{βt}).
///
/// Evaluated in the stable form σ = (max(βt, 0) + log1p(e^{−|βt|})) / β,
/// with e^{−|βt|} ∈ (0, 1] from a range-reduced polynomial and log1p(u) = 2·atanh(u / (2 + u))
/// from its odd series (|u/(2+u)| ≤ 1/3, so eight terms reach float precision). Agrees with
/// libm's expf/log1pf to a few ulps.
enum Softplus {
    static let threshold: Float = 20

    /// Replaces pre-activations by σ(values) in place and writes σ'(values) to `slopes`.
    ///
    /// Branch-free scalar code over contiguous memory, written so the compiler vectorises it.
    static func apply(_ values: UnsafeMutablePointer<Float>, slopes: UnsafeMutablePointer<Float>, count: Int, beta: Float) {
        let inverseBeta = 1 / beta
        for i in 0..<count {
            let a = values[i]
            let t = a * beta
            let negAbs = t < 0 ? t : -t
            let e = expNonPositive(negAbs)
            let onePlus = 1 + e
            let value = ((t > 0 ? t : 0) + log1pUnit(e)) * inverseBeta
            let slope = (t < 0 ? e : 1) / onePlus
            values[i] = t > threshold ? a : value
            slopes[i] = t > threshold ? 1 : slope
        }
    }

    /// e^m for m ≤ 0 (Cody–Waite range reduction, degree-6 polynomial; ~0 below −87).
    @inline(__always)
    static func expNonPositive(_ m: Float) -> Float {
        let x = m > -87 ? m : -87
        // Round to nearest by the 1.5·2²³ trick: exact for |x·log₂e| < 2²²; no libm call.
        let shifter: Float = 12_582_912
        let shifted = x * 1.442_695_04 + shifter
        let n = shifted - shifter
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_1e-1
        p = p * r * r + r + 1
        // 2ⁿ from the integer n sitting in the low mantissa bits of `shifted`: wrapping integer
        // arithmetic only, so the loop has no trapping conversion and vectorises.
        let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return p * scale
    }

    /// log(1 + u) for u ∈ [0, 1].
    @inline(__always)
    static func log1pUnit(_ u: Float) -> Float {
        let s = u / (2 + u)
        let s2 = s * s
        var p: Float = 1.0 / 15
        p = p * s2 + 1.0 / 13
        p = p * s2 + 1.0 / 11
        p = p * s2 + 1.0 / 9
        p = p * s2 + 1.0 / 7
        p = p * s2 + 1.0 / 5
        p = p * s2 + 1.0 / 3
        p = p * s2 + 1
        return 2 * s * p
    }
}

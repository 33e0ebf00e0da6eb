import Foundation

/// Softplus with sharpness β exactly as PyTorch computes it (threshold 20):
/// σ(t) = t when βt > 20, else log(1 + e^{βt}) / β; σ'(t) = 1 or e^{βt} / (1 + e^{βt}).
enum Softplus {
    static let threshold: Float = 20

    /// Replaces pre-activations by σ(values) in place and writes σ'(values) to `slopes`.
    static func apply(_ values: UnsafeMutablePointer<Float>, slopes: UnsafeMutablePointer<Float>, count: Int, beta: Float) {
        let inverseBeta = 1 / beta
        for i in 0..<count {
            let t = values[i] * beta
            if t > threshold {
                slopes[i] = 1
            } else {
                let e = expf(t)
                values[i] = log1pf(e) * inverseBeta
                slopes[i] = e / (e + 1)
            }
        }
    }
}

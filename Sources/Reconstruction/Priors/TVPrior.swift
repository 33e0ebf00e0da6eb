import Foundation

/// Isotropic total variation, φ(z) = λ Σ |∇z| (forward differences, Neumann boundary).
///
/// prox by the fast gradient projection on the dual (Beck & Teboulle 2009): with D the
/// discrete gradient, z = v − λDᵀp where p (|p| ≤ 1 per pixel) minimises ½‖v − λDᵀp‖²; FISTA
/// steps of size 1/(8λ²) (‖D‖² ≤ 8). The dual p is kept between calls as a warm start
/// (reset per frame), so inside ADMM a few inner iterations per call suffice.
public final class TVPrior: ProximalPrior {
    public let name = "tv"
    public let lambda: Float
    public let iterations: Int
    let height: Int, width: Int
    private var p1: [Float], p2: [Float], q1: [Float], q2: [Float], r1: [Float], r2: [Float]
    private var z: [Float]

    public init(lambda: Float, iterations: Int, height: Int, width: Int) {
        self.lambda = lambda
        self.iterations = iterations
        self.height = height
        self.width = width
        let n = height * width
        p1 = [Float](repeating: 0, count: n)
        p2 = p1; q1 = p1; q2 = p1; r1 = p1; r2 = p1; z = p1
    }

    public func reset() {
        for i in 0..<p1.count { p1[i] = 0; p2[i] = 0 }
    }

    public func prox(_ v: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        let h = height, w = width, n = h * w
        guard lambda > 0 else { out.update(from: v, count: n); return }
        let lam = lambda, step = 1 / (8 * lam)
        p1.withUnsafeMutableBufferPointer { p1 in
        p2.withUnsafeMutableBufferPointer { p2 in
        q1.withUnsafeMutableBufferPointer { q1 in
        q2.withUnsafeMutableBufferPointer { q2 in
        r1.withUnsafeMutableBufferPointer { r1 in
        r2.withUnsafeMutableBufferPointer { r2 in
        z.withUnsafeMutableBufferPointer { z in
            // r = p (FISTA extrapolation point), t = 1
            for i in 0..<n { r1[i] = p1[i]; r2[i] = p2[i] }
            var t: Float = 1
            for _ in 0..<iterations {
                // z = v − λ Dᵀ r, with Dᵀ r = −div r
                primal(v, r1, r2, z, lam)
                // q = proj(r + step · D z)
                for y in 0..<h {
                    for x in 0..<w {
                        let i = y * w + x
                        let gx = x < w - 1 ? z[i + 1] - z[i] : 0
                        let gy = y < h - 1 ? z[i + w] - z[i] : 0
                        let a = r1[i] + step * gx, b = r2[i] + step * gy
                        let norm = max(1, (a * a + b * b).squareRoot())
                        q1[i] = a / norm; q2[i] = b / norm
                    }
                }
                let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
                let m = (t - 1) / tNext
                for i in 0..<n {
                    r1[i] = q1[i] + m * (q1[i] - p1[i]); r2[i] = q2[i] + m * (q2[i] - p2[i])
                    p1[i] = q1[i]; p2[i] = q2[i]
                }
                t = tNext
            }
            primal(v, p1, p2, out, lam)
        }}}}}}}
    }

    /// z = v + λ div p (div the negative adjoint of forward differences).
    private func primal(_ v: UnsafePointer<Float>, _ p1: UnsafeMutableBufferPointer<Float>,
                        _ p2: UnsafeMutableBufferPointer<Float>, _ z: UnsafeMutablePointer<Float>, _ lam: Float) {
        let h = height, w = width
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                var d: Float = 0
                if x < w - 1 { d += p1[i] }
                if x > 0 { d -= p1[i - 1] }
                if y < h - 1 { d += p2[i] }
                if y > 0 { d -= p2[i - w] }
                z[i] = v[i] + lam * d
            }
        }
    }

    private func primal(_ v: UnsafePointer<Float>, _ p1: UnsafeMutableBufferPointer<Float>,
                        _ p2: UnsafeMutableBufferPointer<Float>, _ z: UnsafeMutableBufferPointer<Float>, _ lam: Float) {
        primal(v, p1, p2, z.baseAddress!, lam)
    }
}

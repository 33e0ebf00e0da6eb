import Foundation

/// Conjugate gradients on the normal equations of a linear operator A, shifted:
///
///     (a·AᵀA + b·I) x = r₀,   a > 0, b ≥ 0
///
/// the one CG of the solvers: ADMM's inexact x-step (a = 2s, b = ρ) runs it to a tolerance,
/// the least-squares solver (a = 1, b = 0, rhs Aᵀy) and the least-squares start take one
/// step per iteration. From x₀: r = rhs − M x₀, p = r; each step
///
///     q = M p,  α = ‖r‖²/⟨p, q⟩,  x += α p,  r −= α q,  β = ‖r_new‖²/‖r‖²,  p = r + β p
///
/// and stops when ⟨p, q⟩ ≤ 0 (M p = 0: the residual lies outside A's range, or exact
/// convergence). Buffers are allocated once, for one operator; not thread-safe.
final class ConjugateGradient {
    let op: LinearOperator
    private let r: FloatBuffer, p: FloatBuffer, q: FloatBuffer, scratch: FloatBuffer
    private var a: Float = 1, b: Float = 0
    /// ‖r‖² of the current residual; 0 once CG cannot go further.
    private(set) var residualNormSquared = 0.0

    init(op: LinearOperator) {
        self.op = op
        r = FloatBuffer(op.imageCount); p = FloatBuffer(op.imageCount); q = FloatBuffer(op.imageCount)
        scratch = FloatBuffer(op.measurementCount)
    }

    /// out = (a AᵀA + b I) v.
    private func apply(_ v: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        op.forward(v, scratch.pointer)
        op.adjoint(scratch.pointer, out)
        let n = op.imageCount
        if a == 1 && b == 0 { return }
        for i in 0..<n { out[i] = a * out[i] + b * v[i] }
    }

    /// Starts a solve of (a AᵀA + b I) x = rhs from the x given.
    func start(_ x: UnsafePointer<Float>, rhs: UnsafePointer<Float>, a: Float, b: Float) {
        self.a = a
        self.b = b
        let n = op.imageCount
        apply(x, q.pointer)
        for i in 0..<n { r.pointer[i] = rhs[i] - q.pointer[i] }
        p.copy(from: r)
        residualNormSquared = Vec.dot(r.pointer, r.pointer, n)
    }

    /// One CG step on x; false (x unchanged) when CG cannot go further.
    @discardableResult
    func step(_ x: UnsafeMutablePointer<Float>) -> Bool {
        let n = op.imageCount
        guard residualNormSquared > 0 else { return false }
        apply(p.pointer, q.pointer)
        let pq = Vec.dot(p.pointer, q.pointer, n)
        guard pq > 0 else { residualNormSquared = 0; return false }
        let alpha = Float(residualNormSquared / pq)
        Vec.axpy(alpha, p.pointer, x, n)
        Vec.axpy(-alpha, q.pointer, r.pointer, n)
        let next = Vec.dot(r.pointer, r.pointer, n)
        let beta = Float(next / residualNormSquared)
        for i in 0..<n { p.pointer[i] = r.pointer[i] + beta * p.pointer[i] }
        residualNormSquared = next
        return true
    }

    /// Solves in place from the warm start in x until ‖r‖ ≤ tolerance·‖rhs‖ or
    /// `maxIterations` steps; returns the steps taken.
    @discardableResult
    func solve(_ x: UnsafeMutablePointer<Float>, rhs: UnsafePointer<Float>, a: Float, b: Float,
               tolerance: Double, maxIterations: Int) -> Int {
        start(x, rhs: rhs, a: a, b: b)
        let target = tolerance * Vec.norm(rhs, op.imageCount)
        var k = 0
        while k < maxIterations && residualNormSquared.squareRoot() > target && step(x) { k += 1 }
        return k
    }
}

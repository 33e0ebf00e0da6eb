import Foundation
import LPN

/// A proximal operator z = prox_φ(v) = argmin_z ½‖z − v‖² + φ(z), the "denoiser" of a
/// plug-and-play solver. The strength is part of the prior (TV's λ; an LPN's is learned).
/// Instances own buffers: one per thread.
public protocol ProximalPrior: AnyObject {
    var name: String { get }
    func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>)
    /// Forget warm-start state (called at the start of each frame).
    func reset()
}

extension ProximalPrior {
    public func reset() {}
}

/// φ = 0: the identity, so the solvers reduce to (regularised) least squares.
public final class IdentityPrior: ProximalPrior {
    public let name = "none"
    let count: Int
    public init(count: Int) { self.count = count }
    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        z.update(from: v, count: count)
    }
}

/// φ = λ‖z‖₁: soft thresholding (closed form; used by the solver tests).
public final class SoftThresholdPrior: ProximalPrior {
    public let name = "l1"
    public let lambda: Float
    let count: Int
    public init(lambda: Float, count: Int) {
        self.lambda = lambda
        self.count = count
    }
    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let a = abs(v[i]) - lambda
            z[i] = a > 0 ? (v[i] < 0 ? -a : a) : 0
        }
    }
}

/// How overlapping patch outputs are combined on frames larger than the model.
public enum PatchWeighting: String, Sendable, CaseIterable {
    /// Plain average of the overlaps (the paper's; ``LPNProx``).
    case uniform
    /// Each patch output weighted by a separable Hann window (sin²), so pixels near a patch's
    /// border, where the network sees zero padding instead of the neighbourhood, count less.
    case hann
}

/// The learned proximal network f = ∇ψ, applied patchwise to frames larger than the model,
/// optionally relaxed: z = θ·f(v) + (1 − θ)·v.
///
/// The relaxation keeps it an exact proximal operator: θf + (1 − θ)I = ∇(θψ + (1 − θ)½‖·‖²)
/// is the gradient of a convex function, hence (LPN.md §1) the prox of a weaker regulariser.
/// θ < 1 lets a model trained at one noise level regularise less (an LPN's strength is fixed
/// by its training noise). On an N×N frame f is applied directly (exactly a prox); patchwise
/// combination, uniform as in the paper or Hann-weighted, is an approximation either way.
public final class LPNPrior: ProximalPrior {
    public let name = "lpn"
    public let prox: LPNProx
    public let strength: Float
    public let weighting: PatchWeighting
    let height: Int, width: Int
    private let n: Int
    private let rows: [Int], cols: [Int]
    private let window: [Float]       // N×N patch weights (hann)
    private let normaliser: [Float]   // 1 / Σ weights per pixel (hann)
    private var patchIn: [Float], patchOut: [Float]

    public init(model: LPNModel, patchStride: Int?, height: Int, width: Int, strength: Float = 1,
                weighting: PatchWeighting = .uniform) throws {
        prox = try LPNProx(model: model, patchStride: patchStride)
        self.height = height
        self.width = width
        self.strength = strength
        self.weighting = weighting
        let n = model.configuration.size
        self.n = n
        let rows = PatchGrid.starts(length: height, patch: n, stride: prox.patchStride)
        let cols = PatchGrid.starts(length: width, patch: n, stride: prox.patchStride)
        self.rows = rows
        self.cols = cols
        patchIn = [Float](repeating: 0, count: n * n)
        patchOut = patchIn
        if weighting == .hann && (height > n || width > n) {
            let h1 = (0..<n).map { i -> Float in
                let s = sin(Double.pi * (Double(i) + 0.5) / Double(n))
                return Float(s * s)
            }
            var win = [Float](repeating: 0, count: n * n)
            for y in 0..<n { for x in 0..<n { win[y * n + x] = h1[y] * h1[x] } }
            var total = [Float](repeating: 0, count: height * width)
            for r in rows { for c in cols { for y in 0..<n { for x in 0..<n { total[(r + y) * width + c + x] += win[y * n + x] } } } }
            window = win
            normaliser = total.map { 1 / $0 }
        } else {
            window = []
            normaliser = []
        }
    }

    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        if window.isEmpty {
            prox.apply(v, z, height: height, width: width)
        } else {
            weightedPatches(v, z)
        }
        if strength != 1 {
            let t = strength, r = 1 - strength
            for i in 0..<(height * width) { z[i] = t * z[i] + r * v[i] }
        }
    }

    private func weightedPatches(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        let n = self.n, w = width
        z.update(repeating: 0, count: height * width)
        patchIn.withUnsafeMutableBufferPointer { pin in
        patchOut.withUnsafeMutableBufferPointer { pout in
        window.withUnsafeBufferPointer { win in
            for r in rows {
                for c in cols {
                    for y in 0..<n { (pin.baseAddress! + y * n).update(from: v + (r + y) * w + c, count: n) }
                    _ = prox.engine.evaluate(pin.baseAddress!, gradient: pout.baseAddress!)
                    for y in 0..<n {
                        let dst = z + (r + y) * w + c
                        for x in 0..<n { dst[x] += win[y * n + x] * pout[y * n + x] }
                    }
                }
            }
        }}}
        normaliser.withUnsafeBufferPointer { norm in
            for i in 0..<(height * width) { z[i] *= norm[i] }
        }
    }
}

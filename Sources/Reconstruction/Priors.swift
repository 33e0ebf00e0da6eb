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
    public var weighting: PatchWeighting { prox.weighting }
    let height: Int, width: Int

    public init(model: LPNModel, patchStride: Int?, height: Int, width: Int, strength: Float = 1,
                weighting: PatchWeighting = .uniform) throws {
        prox = try LPNProx(model: model, patchStride: patchStride, weighting: weighting)
        self.height = height
        self.width = width
        self.strength = strength
    }

    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        prox.apply(v, z, height: height, width: width)
        if strength != 1 {
            let t = strength, r = 1 - strength
            for i in 0..<(height * width) { z[i] = t * z[i] + r * v[i] }
        }
    }
}

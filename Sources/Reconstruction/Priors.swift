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

/// The learned proximal network f = ∇ψ, applied patchwise to frames larger than the model.
public final class LPNPrior: ProximalPrior {
    public let name = "lpn"
    public let prox: LPNProx
    let height: Int, width: Int

    public init(model: LPNModel, patchStride: Int?, height: Int, width: Int) throws {
        prox = try LPNProx(model: model, patchStride: patchStride)
        self.height = height
        self.width = width
    }

    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        prox.apply(v, z, height: height, width: width)
    }
}

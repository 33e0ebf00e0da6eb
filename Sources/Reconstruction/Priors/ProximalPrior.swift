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

import Foundation
import LPN

/// φ = 0: the identity, so the solvers reduce to (regularised) least squares.
public final class IdentityPrior: ProximalPrior {
    public let name = "none"
    let count: Int
    public init(count: Int) { self.count = count }
    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        z.update(from: v, count: count)
    }
}

import Foundation
import LPN

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

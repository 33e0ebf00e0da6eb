import Foundation
import TensorIO

/// An operator with some of its measurements dropped: A_K = K·A, with K a 0/1 diagonal over
/// the measurement floats (the keep mask of ``MeasurementUnits/keepMask(holdingOut:seed:)``).
/// Its adjoint is Aᵀ·K, so A_KᵀA_K = AᵀKA. It has no closed-form normal solve (ADMM takes CG).
///
/// It applies `base` itself, so it shares the base instance's buffers: use it on the thread
/// that owns the base, never while the base is mid-application.
public final class HeldOutOperator: LinearOperator {
    public let base: LinearOperator
    public let keep: [Float]
    private let scratch: FloatBuffer

    public var imageShape: [Int] { base.imageShape }
    public var imageType: SampleType { base.imageType }
    public var measurementShape: [Int] { base.measurementShape }
    public var measurementType: SampleType { base.measurementType }

    public init(base: LinearOperator, keep: [Float]) {
        precondition(keep.count == base.measurementCount)
        self.base = base
        self.keep = keep
        scratch = FloatBuffer(base.measurementCount)
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        base.forward(x, y)
        keep.withUnsafeBufferPointer { k in for i in 0..<k.count { y[i] *= k[i] } }
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let s = scratch.pointer
        keep.withUnsafeBufferPointer { k in for i in 0..<k.count { s[i] = k[i] * y[i] } }
        base.adjoint(s, x)
    }
}

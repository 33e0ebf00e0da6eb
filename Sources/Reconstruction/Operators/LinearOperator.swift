import Foundation
import LPN
import TensorIO
import Support

/// A forward model A from images to measurements.
///
/// Buffers are flat floats: real samples one float each, complex samples interleaved (re, im).
/// The adjoint is with respect to the real inner product ⟨a, b⟩ = Σ aᵢbᵢ over those floats
/// (= Re⟨a, b⟩ for complex data), which is what the solvers use.
///
/// Instances own scratch buffers and FFT plans, so they are not thread-safe: one per thread
/// (``OperatorSpec/makeOperator()`` makes a fresh one over shared immutable data).
public protocol LinearOperator: AnyObject {
    /// Image shape, [H, W] (a complex image keeps [H, W]; its samples are complex64).
    var imageShape: [Int] { get }
    var imageType: SampleType { get }
    var measurementShape: [Int] { get }
    var measurementType: SampleType { get }

    /// y = A x.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>)
    /// x = Aᵀ y (Aᴴ for complex data).
    func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>)

    /// Whether ``normalSolve(_:)`` is available for (a·AᵀA + b·I) with these a, b > 0; the
    /// operator prepares (factorises, caches) what the solve needs.
    func prepareNormalSolve(dataWeight a: Float, shift b: Float) -> Bool
    /// Overwrites r with (a·AᵀA + b·I)⁻¹ r for the a, b of the last successful prepare.
    func normalSolve(_ r: UnsafeMutablePointer<Float>)

    /// The units cross-validation holds out together (default: each measured sample).
    var measurementUnits: MeasurementUnits { get }
    /// This operator without the measurement floats where `keep` is 0 (default: a
    /// ``HeldOutOperator`` over this instance; operators with a closed form keep theirs).
    func keeping(_ keep: [Float]) -> LinearOperator
}

extension LinearOperator {
    /// Floats in one image buffer.
    public var imageCount: Int { imageShape.product * imageType.floatsPerSample }
    /// Floats in one measurement buffer.
    public var measurementCount: Int { measurementShape.product * measurementType.floatsPerSample }

    public func prepareNormalSolve(dataWeight a: Float, shift b: Float) -> Bool { false }
    public func normalSolve(_ r: UnsafeMutablePointer<Float>) {
        preconditionFailure("\(type(of: self)) has no closed-form normal solve")
    }

    public var measurementUnits: MeasurementUnits {
        .perSample(samples: measurementShape.product, floatsPerSample: measurementType.floatsPerSample)
    }

    public func keeping(_ keep: [Float]) -> LinearOperator { HeldOutOperator(base: self, keep: keep) }

    /// Array convenience (allocates; for tests, simulation and tools, not solver loops).
    public func forward(_ x: [Float]) -> [Float] {
        precondition(x.count == imageCount)
        var y = [Float](repeating: 0, count: measurementCount)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { forward(xp.baseAddress!, $0.baseAddress!) } }
        return y
    }

    public func adjoint(_ y: [Float]) -> [Float] {
        precondition(y.count == measurementCount)
        var x = [Float](repeating: 0, count: imageCount)
        y.withUnsafeBufferPointer { yp in x.withUnsafeMutableBufferPointer { adjoint(yp.baseAddress!, $0.baseAddress!) } }
        return x
    }
}

/// Random draws shared by the operators (deterministic from a seed).
enum Draw {
    static func gaussian(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(rng.nextGaussian()) * scale }
    }

    static func signs(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.next() & 1 == 0 ? -1 : 1 }
    }

    /// A random permutation of 0..<n (Fisher–Yates).
    static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        var all = Array(0..<n)
        for i in 0..<n {
            let j = i + Int(rng.next() % UInt64(n - i))
            all.swapAt(i, j)
        }
        return all
    }

    /// `k` distinct indices of 0..<n, sorted (the first k of ``permutation(_:seed:)``).
    static func subset(_ k: Int, of n: Int, seed: UInt64) -> [Int32] {
        permutation(n, seed: seed)[0..<k].sorted().map { Int32($0) }
    }
}

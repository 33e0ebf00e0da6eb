import COpenBLAS
import Foundation

/// A fixed-size float buffer allocated once (solver state, scratch); zero-initialised.
public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public func copy(from source: UnsafePointer<Float>) { pointer.update(from: source, count: count) }
    public func copy(from other: FloatBuffer) { pointer.update(from: other.pointer, count: count) }
    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }
    /// Clips every value to [0, 1] (a real image's output range).
    public func clipToUnitInterval() { for i in 0..<count { pointer[i] = min(max(pointer[i], 0), 1) } }
}

/// Small BLAS-1 helpers on raw buffers (float32 storage, double accumulation for norms).
enum Vec {
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        var s = 0.0
        var i = 0
        // Four partial sums: vectorisable, and accurate enough in double.
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        while i + 4 <= n {
            s0 += Double(a[i] * b[i]); s1 += Double(a[i + 1] * b[i + 1])
            s2 += Double(a[i + 2] * b[i + 2]); s3 += Double(a[i + 3] * b[i + 3])
            i += 4
        }
        while i < n { s += Double(a[i] * b[i]); i += 1 }
        return s + s0 + s1 + s2 + s3
    }

    static func norm(_ a: UnsafePointer<Float>, _ n: Int) -> Double { dot(a, a, n).squareRoot() }

    /// ‖a − b‖.
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { let d = Double(a[i] - b[i]); s += d * d }
        return s.squareRoot()
    }

    /// ‖a − b‖/‖b‖ (1 when b = 0 and a ≠ b: a start from zero counts as a full change).
    static func relativeChange(_ a: UnsafePointer<Float>, from b: UnsafePointer<Float>, _ n: Int) -> Double {
        relativeChange(distance: distance(a, b, n), from: b, n)
    }

    /// d/‖b‖ for a distance d = ‖a − b‖ already computed (same convention at b = 0).
    static func relativeChange(distance d: Double, from b: UnsafePointer<Float>, _ n: Int) -> Double {
        let r = norm(b, n)
        return r > 0 ? d / r : (d > 0 ? 1 : 0)
    }

    /// y += α x.
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }
}

/// Power iteration for ‖A‖² = λ_max(AᵀA) (deterministic start; 1% above the estimate).
public func operatorNormSquared(_ op: LinearOperator, iterations: Int = 50) -> Double {
    let n = op.imageCount
    let x = FloatBuffer(n), y = FloatBuffer(op.measurementCount)
    var rng = 0x2545F4914F6CDD1D as UInt64
    for i in 0..<n {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        x.pointer[i] = Float(rng % 10_000) / 10_000 + 0.5
    }
    var estimate = 0.0
    for _ in 0..<iterations {
        let norm = Vec.norm(x.pointer, n)
        guard norm > 0 else { return 0 }
        for i in 0..<n { x.pointer[i] /= Float(norm) }
        op.forward(x.pointer, y.pointer)
        op.adjoint(y.pointer, x.pointer)
        let next = Vec.norm(x.pointer, n)
        if abs(next - estimate) <= 1e-6 * next { estimate = next; break }
        estimate = next
    }
    return estimate * 1.01
}

extension Array where Element == Int {
    var product: Int { reduce(1, *) }
}

/// First non-finite value of a float buffer, as (index, value).
func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> (Int, Float)? {
    for i in 0..<values.count where !values[i].isFinite { return (i, values[i]) }
    return nil
}

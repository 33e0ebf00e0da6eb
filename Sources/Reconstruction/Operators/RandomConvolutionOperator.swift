import Foundation

/// The paper's random-convolution compressed sensing (docs/MATH.md): on the flattened image u
/// (length n = H·W), y = P · Re(F⁻¹(F(s ⊙ u) ⊙ F(a))) with random signs s, a random N(0, 1)
/// vector a, 1-D orthonormal FFTs over all n pixels, and P keeping M random indices.
///
/// Since s ⊙ u and a are real, the circular convolution is real; Aᵀ = diag(s)·F⁻¹(conj(F a) ⊙
/// F(Pᵀ y)). No closed-form normal solve (P breaks the diagonalisation); ADMM uses CG.
public final class RandomConvolutionOperator: LinearOperator {
    public let data: RandomConvolutionData
    public let imageShape: [Int]
    public let imageType = SampleType.float32
    public var measurementShape: [Int] { [data.indices.count] }
    public let measurementType = SampleType.float32
    private let fft: FFTPlan

    public init(data: RandomConvolutionData, imageShape: [Int]) {
        precondition(imageShape.product == data.signs.count)
        self.data = data
        self.imageShape = imageShape
        fft = FFTPlan(dimensions: [data.signs.count])
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let n = data.signs.count, b = fft.buffer
        data.signs.withUnsafeBufferPointer { s in
            for i in 0..<n { b[2 * i] = s[i] * x[i]; b[2 * i + 1] = 0 }
        }
        fft.forward()
        multiply(conjugate: false)
        fft.inverse()
        data.indices.withUnsafeBufferPointer { idx in
            for k in 0..<idx.count { y[k] = b[2 * Int(idx[k])] }
        }
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let n = data.signs.count, b = fft.buffer
        b.update(repeating: 0, count: 2 * n)
        data.indices.withUnsafeBufferPointer { idx in
            for k in 0..<idx.count { b[2 * Int(idx[k])] = y[k] }
        }
        fft.forward()
        multiply(conjugate: true)
        fft.inverse()
        data.signs.withUnsafeBufferPointer { s in
            for i in 0..<n { x[i] = s[i] * b[2 * i] }
        }
    }

    private func multiply(conjugate: Bool) {
        let b = fft.buffer, sign: Float = conjugate ? -1 : 1
        data.spectrum.withUnsafeBufferPointer { h in
            for i in 0..<data.signs.count {
                let hr = h[2 * i], hi = sign * h[2 * i + 1]
                let br = b[2 * i], bi = b[2 * i + 1]
                b[2 * i] = br * hr - bi * hi
                b[2 * i + 1] = br * hi + bi * hr
            }
        }
    }
}

/// Immutable data of a random-convolution operator, shared across threads.
public struct RandomConvolutionData: Sendable {
    /// Random signs s (±1), length n.
    public let signs: [Float]
    /// The random vector a, length n.
    public let filter: [Float]
    /// F(a) (orthonormal 1-D FFT, interleaved complex), length 2n.
    public let spectrum: [Float]
    /// The kept indices (sorted), length M.
    public let indices: [Int32]

    public init(signs: [Float], filter: [Float], indices: [Int32]) {
        self.signs = signs
        self.filter = filter
        self.indices = indices
        let plan = FFTPlan(dimensions: [filter.count])
        filter.withUnsafeBufferPointer { plan.loadReal($0.baseAddress!) }
        plan.forward()
        spectrum = Array(UnsafeBufferPointer(start: plan.buffer, count: 2 * filter.count))
    }

    /// Signs, filter and M = round(rate·n) indices drawn from one seed.
    public init(pixels n: Int, measurements m: Int, seed: UInt64) {
        self.init(signs: Draw.signs(n, seed: seed &+ 1),
                  filter: Draw.gaussian(n, seed: seed &+ 2),
                  indices: Draw.subset(m, of: n, seed: seed &+ 3))
    }
}

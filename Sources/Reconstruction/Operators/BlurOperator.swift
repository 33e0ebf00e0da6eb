import Foundation

/// Gaussian deblurring as in the paper (docs/MATH.md): "full" 2-D convolution with a normalised
/// Gaussian kernel of size max(5, int(3σ_b)) made odd, so y is (H+k−1)×(W+k−1).
///
/// Forward and adjoint ("valid" correlation) are direct loops (k ≤ 9: cheaper than FFTs).
/// The normal matrix of a full convolution is Toeplitz, not circulant, so there is no exact
/// Fourier solve: ADMM uses CG (a handful of steps, warm-started).
public final class BlurOperator: LinearOperator {
    public let kernel: BlurKernel
    public let imageShape: [Int]
    public let imageType = SampleType.float32
    public let measurementShape: [Int]
    public let measurementType = SampleType.float32

    public init(kernel: BlurKernel, imageShape: [Int]) {
        precondition(imageShape.count == 2)
        self.kernel = kernel
        self.imageShape = imageShape
        measurementShape = [imageShape[0] + kernel.size - 1, imageShape[1] + kernel.size - 1]
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let h = imageShape[0], w = imageShape[1], k = kernel.size, ow = w + k - 1
        y.update(repeating: 0, count: measurementShape.product)
        kernel.values.withUnsafeBufferPointer { kv in
            for i in 0..<h {
                for p in 0..<k {
                    let yrow = y + (i + p) * ow
                    let xrow = x + i * w
                    for q in 0..<k {
                        let c = kv[p * k + q]
                        let dst = yrow + q
                        for j in 0..<w { dst[j] += c * xrow[j] }
                    }
                }
            }
        }
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let h = imageShape[0], w = imageShape[1], k = kernel.size, ow = w + k - 1
        x.update(repeating: 0, count: h * w)
        kernel.values.withUnsafeBufferPointer { kv in
            for i in 0..<h {
                let xrow = x + i * w
                for p in 0..<k {
                    let yrow = y + (i + p) * ow
                    for q in 0..<k {
                        let c = kv[p * k + q]
                        let src = yrow + q
                        for j in 0..<w { xrow[j] += c * src[j] }
                    }
                }
            }
        }
    }
}

/// A normalised 2-D Gaussian kernel (k×k, row-major), shared across threads.
public struct BlurKernel: Sendable {
    public let size: Int
    public let sigma: Double
    public let values: [Float]

    /// The paper's size rule: max(5, int(3σ)), made odd.
    public static func defaultSize(sigma: Double) -> Int {
        let k = max(5, Int(3 * sigma))
        return k % 2 == 0 ? k + 1 : k
    }

    public init(sigma: Double, size: Int? = nil) {
        let k = size ?? Self.defaultSize(sigma: sigma)
        let c = Double(k - 1) / 2
        var v = [Double](repeating: 0, count: k * k)
        for p in 0..<k {
            for q in 0..<k {
                let dy = Double(p) - c, dx = Double(q) - c
                v[p * k + q] = exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))
            }
        }
        let sum = v.reduce(0, +)
        self.size = k
        self.sigma = sigma
        values = v.map { Float($0 / sum) }
    }

    public init(values: [Float], size: Int) {
        precondition(values.count == size * size)
        self.size = size
        self.sigma = .nan
        self.values = values
    }
}

import Foundation

/// y = x (denoising). Normal solve: x = r / (a + b).
public final class IdentityOperator: LinearOperator {
    public let imageShape: [Int]
    public let imageType = SampleType.float32
    public var measurementShape: [Int] { imageShape }
    public let measurementType = SampleType.float32
    private var scale: Float = 1

    public init(imageShape: [Int]) { self.imageShape = imageShape }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        y.update(from: x, count: imageCount)
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        x.update(from: y, count: imageCount)
    }

    public func prepareNormalSolve(dataWeight a: Float, shift b: Float) -> Bool {
        guard a + b > 0 else { return false }
        scale = 1 / (a + b)
        return true
    }

    public func normalSolve(_ r: UnsafeMutablePointer<Float>) {
        for i in 0..<imageCount { r[i] *= scale }
    }
}

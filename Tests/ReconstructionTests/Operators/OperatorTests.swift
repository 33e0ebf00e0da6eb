import Foundation
import LPN
import Reconstruction
import Testing

@Suite struct OperatorTests {
    static let shape = [24, 20]

    @Test func denseAdjoint() {
        let op = DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 200, columns: 480, seed: 1), imageShape: Self.shape)
        #expect(adjointMismatch(op, seed: 10) < 1e-5)
    }

    @Test func randomConvolutionAdjoint() {
        let data = RandomConvolutionData(pixels: 480, measurements: 120, seed: 4)
        let op = RandomConvolutionOperator(data: data, imageShape: Self.shape)
        #expect(adjointMismatch(op, seed: 11) < 1e-5)
    }

    /// Forward equals the definition: circular convolution of s⊙u with a, over √n, at the indices.
    @Test func randomConvolutionMatchesDefinition() {
        let n = 48
        let data = RandomConvolutionData(pixels: n, measurements: 20, seed: 9)
        let op = RandomConvolutionOperator(data: data, imageShape: [6, 8])
        let x = randomVector(n, seed: 3)
        let y = op.forward(x)
        for (k, idx) in data.indices.enumerated() {
            let i = Int(idx)
            var s = 0.0
            for j in 0..<n { s += Double(data.signs[j] * x[j]) * Double(data.filter[(i - j + n) % n]) }
            #expect(abs(s / Double(n).squareRoot() - Double(y[k])) < 1e-4)
        }
    }

    @Test func mriRealAdjoint() {
        let mask = MRIMask.lines(height: 24, width: 20, acceleration: 3, centerFraction: 0.1, seed: 2)
        #expect(adjointMismatch(MRIOperator(mask: mask), seed: 12) < 1e-5)
    }

    @Test func mriComplexAdjoint() {
        let mask = MRIMask.lines(height: 24, width: 20, acceleration: 3, centerFraction: 0.1, seed: 2)
        #expect(adjointMismatch(MRIOperator(mask: mask, imageType: .complex64), seed: 13) < 1e-5)
    }

    @Test func blurAdjoint() {
        for sigma in [1.0, 2.0] {
            let op = BlurOperator(kernel: BlurKernel(sigma: sigma), imageShape: Self.shape)
            #expect(adjointMismatch(op, seed: 14) < 1e-5)
        }
    }

    @Test func identityAdjoint() {
        #expect(adjointMismatch(IdentityOperator(imageShape: Self.shape), seed: 15) < 1e-6)
    }

    /// The paper's kernel sizes and a full convolution's output size; a delta gives the kernel.
    @Test func blurKernelAndFullConvolution() {
        #expect(BlurKernel.defaultSize(sigma: 1) == 5)
        #expect(BlurKernel.defaultSize(sigma: 2) == 7)
        let k = BlurKernel(sigma: 1)
        #expect(abs(k.values.reduce(0, +) - 1) < 1e-6)
        let op = BlurOperator(kernel: k, imageShape: [8, 8])
        #expect(op.measurementShape == [12, 12])
        var x = [Float](repeating: 0, count: 64); x[0] = 1
        let y = op.forward(x)
        for p in 0..<5 { for q in 0..<5 { #expect(y[p * 12 + q] == k.values[p * 5 + q]) } }
    }

    /// DC of the orthonormal FFT is Σx/√n; unsampled k-space stays zero.
    @Test func mriForwardDefinition() {
        let mask = MRIMask.lines(height: 16, width: 16, acceleration: 4, centerFraction: 0.125, seed: 5)
        #expect(mask.values[0] == 1)  // DC line always sampled
        #expect(mask.lines.count == 4)
        let op = MRIOperator(mask: mask)
        let x = randomVector(256, seed: 6)
        let y = op.forward(x)
        let dc: Double = x.reduce(0.0) { $0 + Double($1) } / 16
        #expect(abs(Double(y[0]) - dc) < 1e-4)
        for i in 0..<256 where mask.values[i] == 0 { #expect(y[2 * i] == 0 && y[2 * i + 1] == 0) }
    }

    @Test func mriMaskAcceleration() {
        for r in [4.0, 8.0] {
            let mask = MRIMask.lines(height: 128, width: 128, acceleration: r, centerFraction: 0.08, seed: 1)
            #expect(mask.lines.count == Int(128 / r))
            // Fully sampled centre: frequencies −4…4 (≈ 0.08·128 = 10 lines, at least ±4).
            for f in -4...4 { #expect(mask.lines.contains((f + 128) % 128)) }
        }
    }

    /// (a AᵀA + b I) · normalSolve(r) = r for every closed-form operator.
    @Test(arguments: ["dense-wide", "dense-tall", "mri-real", "mri-complex", "identity"])
    func normalSolveInvertsNormalMatrix(_ name: String) throws {
        let op: LinearOperator
        switch name {
        case "dense-wide": op = DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 120, columns: 480, seed: 1), imageShape: Self.shape)
        case "dense-tall": op = DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 600, columns: 480, seed: 1), imageShape: Self.shape)
        case "mri-real": op = MRIOperator(mask: .lines(height: 24, width: 20, acceleration: 3, centerFraction: 0.1, seed: 2))
        case "mri-complex": op = MRIOperator(mask: .lines(height: 24, width: 20, acceleration: 3, centerFraction: 0.1, seed: 2), imageType: .complex64)
        default: op = IdentityOperator(imageShape: Self.shape)
        }
        let a: Float = 2, b: Float = 0.1
        #expect(op.prepareNormalSolve(dataWeight: a, shift: b))
        let r = randomVector(op.imageCount, seed: 21)
        var x = r
        x.withUnsafeMutableBufferPointer { op.normalSolve($0.baseAddress!) }
        let back = normalApply(op, x, a: a, b: b)
        #expect(norm(zip(back, r).map { $0 - $1 }) / norm(r) < 1e-4)
    }

    @Test func randomConvolutionAndBlurHaveNoClosedForm() {
        let rc = RandomConvolutionOperator(data: RandomConvolutionData(pixels: 480, measurements: 120, seed: 4), imageShape: Self.shape)
        #expect(!rc.prepareNormalSolve(dataWeight: 1, shift: 1))
        #expect(!BlurOperator(kernel: BlurKernel(sigma: 1), imageShape: Self.shape).prepareNormalSolve(dataWeight: 1, shift: 1))
    }

    /// Power iteration: a line mask has ‖A‖ = 1; a blur kernel summing to 1 has ‖A‖ ≤ 1.
    @Test func operatorNorms() {
        let mri = MRIOperator(mask: .lines(height: 32, width: 32, acceleration: 4, centerFraction: 0.1, seed: 2))
        let l = operatorNormSquared(mri)
        #expect(l > 0.99 && l < 1.02)
        let blur = operatorNormSquared(BlurOperator(kernel: BlurKernel(sigma: 1), imageShape: [32, 32]))
        #expect(blur > 0.8 && blur <= 1.02)
    }
}

import Foundation
import LPN
import Reconstruction
import Testing

/// ``HeldOutOperator`` and the operators' `keeping`: the operator without the measurements
/// cross-validation holds out (what is held out: MeasurementUnitsTests).
@Suite struct HeldOutOperatorTests {
    static let shape = [24, 20]

    /// K·A and Aᵀ·K are adjoint; the held-out floats read 0 and the kept ones A x's.
    @Test func heldOutOperatorIsAdjointAndDropsTheHeldOutFloats() {
        let ops: [LinearOperator] = [
            DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 200, columns: 480, seed: 1), imageShape: Self.shape),
            BlurOperator(kernel: BlurKernel(sigma: 1), imageShape: Self.shape),
            RandomConvolutionOperator(data: RandomConvolutionData(pixels: 480, measurements: 120, seed: 4), imageShape: Self.shape),
        ]
        for op in ops {
            let keep = op.measurementUnits.keepMasks(folds: 4, seed: 3)[1]
            let kept = op.keeping(keep)
            #expect(kept is HeldOutOperator)
            #expect(adjointMismatch(kept, seed: 20) < 1e-5, "\(type(of: op))")
            let x = randomVector(op.imageCount, seed: 21)
            let full = op.forward(x), part = kept.forward(x)
            for i in 0..<full.count { #expect(part[i] == keep[i] * full[i]) }
            #expect(keep.contains(0) && keep.contains(1))
        }
    }

    /// MRI keeps its closed form: the kept operator is an MRI operator on the mask M·K.
    @Test func mriKeepsItsClosedForm() {
        let mask = MRIMask.lines(height: 24, width: 20, acceleration: 3, centerFraction: 0.1, seed: 2)
        for type in [SampleType.float32, .complex64] {
            let op = MRIOperator(mask: mask, imageType: type)
            let keep = op.measurementUnits.keepMasks(folds: 2, seed: 1)[0]
            let kept = op.keeping(keep)
            #expect(kept is MRIOperator)
            #expect(kept.prepareNormalSolve(dataWeight: 2, shift: 0.1))
            #expect(adjointMismatch(kept, seed: 22) < 1e-5)
            let x = randomVector(op.imageCount, seed: 23)
            let full = op.forward(x), part = kept.forward(x)
            #expect(maxAbsDifference(part, zip(full, keep).map { $0 * $1 }) < 1e-6)
        }
    }
}

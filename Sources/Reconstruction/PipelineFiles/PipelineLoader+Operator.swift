import Foundation
import LPN
import TensorIO

/// The `operator` section of a pipeline file (docs/PIPELINES.md, "operator"): one parser per
/// type (`mri`'s in PipelineLoader+MRIOperator.swift).
extension PipelineLoader {
    static func operatorSection(_ root: YAMLSection, shape: [Int], resolve: (String) -> String) throws
        -> (spec: OperatorSpec, kspace: KSpaceFormat?, type: String) {
        let op = try root.required("operator", root.section)
        let type = try op.required("type", op.string)
        let pixels = shape[0] * shape[1]
        let spec: OperatorSpec
        var kspace: KSpaceFormat? = nil
        switch type {
        case "dense_cs":
            spec = try denseCS(op, pixels: pixels, resolve: resolve)
        case "random_convolution":
            let rate = try op.required("rate") { try op.double($0, min: 0, max: 1, exclusiveMin: true) }
            let seed = UInt64(try op.int("seed", range: 0...Int.max) ?? 0)
            let m = max(1, Int((rate * Double(pixels)).rounded()))
            spec = .randomConvolution(RandomConvolutionData(pixels: pixels, measurements: m, seed: seed), rate: rate, seed: seed)
        case "mri":
            (spec, kspace) = try mriOperator(op, shape: shape, resolve: resolve)
        case "blur":
            let sigma = try op.required("sigma") { try op.double($0, min: 0, exclusiveMin: true) }
            let size = try op.int("kernel_size", range: 1...63)
            if let size, size % 2 == 0 { throw op.fail("kernel_size", "must be odd, got \(size)") }
            spec = .blur(BlurKernel(sigma: sigma, size: size))
        case "identity":
            spec = .identity
        default:
            throw op.fail("type", "'\(type)' is not one of: dense_cs, random_convolution, mri, blur, identity")
        }
        try op.finish()
        return (spec, kspace, type)
    }

    /// `type: dense_cs`: a matrix file, or a Gaussian matrix from rate/measurements and seed.
    static func denseCS(_ op: YAMLSection, pixels: Int, resolve: (String) -> String) throws -> OperatorSpec {
        let rate = try op.double("rate", min: 0, max: 1, exclusiveMin: true)
        let count = try op.int("measurements", range: 1...1_000_000)
        let seed = try op.int("seed", range: 0...Int.max)
        if let matrixFile = try op.string("matrix") {
            if rate != nil || count != nil || seed != nil {
                throw op.fail("matrix", "give either a matrix file or rate/measurements/seed, not both")
            }
            let t: Tensor
            do { t = try NPY.read(path: resolve(matrixFile)) } catch {
                throw op.fail("matrix", "cannot load \(resolve(matrixFile)): \(error)")
            }
            guard t.shape.count == 2, t.shape[1] == pixels else {
                throw op.fail("matrix", "matrix shape \(t.shape) must be [m, \(pixels)] (H·W columns)")
            }
            if let (i, v) = t.firstNonFinite { throw op.fail("matrix", "non-finite value \(v) at flat index \(i)") }
            return .denseCS(DenseMatrix(rows: t.shape[0], columns: pixels, values: t.data), seed: nil, matrixFile: resolve(matrixFile))
        }
        guard (rate == nil) != (count == nil) else {
            throw op.fail(rate == nil ? "rate" : "measurements", "give exactly one of rate and measurements")
        }
        let m = count ?? max(1, Int((rate! * Double(pixels)).rounded()))
        guard m <= 4 * pixels else { throw op.fail("measurements", "\(m) is more than 4·H·W") }
        let s = UInt64(seed ?? 0)
        return .denseCS(DenseMatrix(gaussianRows: m, columns: pixels, seed: s), seed: s, matrixFile: nil)
    }
}

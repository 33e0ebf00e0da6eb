import CLAPACK
import COpenBLAS
import Foundation
import Support

/// Dense compressed sensing: y = A x with an m×n matrix (row-major), by default i.i.d.
/// N(0, 1/m) from a seed (so E[AᵀA] = I), or loaded from a .npy file.
///
/// Closed-form normal solve by Woodbury on the smaller side: for m < n,
/// (aAᵀA + bI)⁻¹ = (1/b)(I − Aᵀ(b/a·I + AAᵀ)⁻¹A) with a Cholesky factor of the m×m matrix
/// (LAPACK spotrf), else a Cholesky factor of aAᵀA + bI itself. Factors are cached in the
/// shared ``DenseMatrix`` so that all reconstructors of a pipeline reuse one.
public final class DenseGaussianOperator: LinearOperator {
    public let matrix: DenseMatrix
    public let imageShape: [Int]
    public let imageType = SampleType.float32
    public var measurementShape: [Int] { [matrix.rows] }
    public let measurementType = SampleType.float32
    private var factor: DenseMatrix.Factor?
    private var small: [Float]

    public init(matrix: DenseMatrix, imageShape: [Int]) {
        precondition(imageShape.product == matrix.columns)
        self.matrix = matrix
        self.imageShape = imageShape
        small = [Float](repeating: 0, count: min(matrix.rows, matrix.columns))
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let m = Int32(matrix.rows), n = Int32(matrix.columns)
        matrix.values.withUnsafeBufferPointer {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, n, 1, $0.baseAddress, n, x, 1, 0, y, 1)
        }
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let m = Int32(matrix.rows), n = Int32(matrix.columns)
        matrix.values.withUnsafeBufferPointer {
            cblas_sgemv(CblasRowMajor, CblasTrans, m, n, 1, $0.baseAddress, n, y, 1, 0, x, 1)
        }
    }

    public func prepareNormalSolve(dataWeight a: Float, shift b: Float) -> Bool {
        guard a > 0, b > 0 else { return false }
        factor = matrix.factor(dataWeight: a, shift: b)
        return factor != nil
    }

    public func normalSolve(_ r: UnsafeMutablePointer<Float>) {
        guard let factor else { preconditionFailure("normalSolve before prepareNormalSolve") }
        let m = Int32(matrix.rows), n = Int32(matrix.columns)
        var info: Int32 = 0, nrhs: Int32 = 1
        let uplo: CChar = 0x4C  // "L"
        var upper = uplo
        matrix.values.withUnsafeBufferPointer { a in
            small.withUnsafeMutableBufferPointer { s in
                factor.values.withUnsafeBufferPointer { l in
                    if factor.woodbury {
                        // s = A r; s ← (b/a I + AAᵀ)⁻¹ s; r ← (r − Aᵀ s) / b
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, m, n, 1, a.baseAddress, n, r, 1, 0, s.baseAddress, 1)
                        var size = m
                        spotrs_(&upper, &size, &nrhs, l.baseAddress, &size, s.baseAddress, &size, &info)
                        cblas_sgemv(CblasRowMajor, CblasTrans, m, n, -1, a.baseAddress, n, s.baseAddress, 1, 1, r, 1)
                        cblas_sscal(n, 1 / factor.shift, r, 1)
                    } else {
                        var size = n
                        spotrs_(&upper, &size, &nrhs, l.baseAddress, &size, r, &size, &info)
                    }
                }
            }
        }
    }
}

/// An immutable m×n matrix shared by every reconstructor of a pipeline, with a lock-protected
/// cache of Cholesky factors for the closed-form ADMM x-step.
public final class DenseMatrix: Sendable {
    public let rows: Int, columns: Int
    /// Row-major m×n.
    public let values: [Float]

    struct Factor {
        let dataWeight: Float, shift: Float
        let woodbury: Bool
        /// Column-major (LAPACK) Cholesky factor (lower).
        let values: [Float]
    }

    /// Factors made so far, one per (data weight, shift); made once, inside the lock.
    private let factors = Locked<[Factor]>([])

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// i.i.d. N(0, 1/m) entries from a seed.
    public convenience init(gaussianRows m: Int, columns n: Int, seed: UInt64) {
        self.init(rows: m, columns: n, values: Draw.gaussian(m * n, seed: seed, scale: 1 / Float(m).squareRoot()))
    }

    func factor(dataWeight a: Float, shift b: Float) -> Factor? {
        factors.withLock { factors in
            if let f = factors.first(where: { $0.dataWeight == a && $0.shift == b }) { return f }
            guard let f = makeFactor(dataWeight: a, shift: b) else { return nil }
            factors.append(f)
            return f
        }
    }

    /// The Cholesky factor of the x-step's normal matrix (Woodbury's small one when m < n).
    private func makeFactor(dataWeight a: Float, shift b: Float) -> Factor? {
        let m = Int32(rows), n = Int32(columns)
        let woodbury = rows < columns
        let k = woodbury ? rows : columns
        var g = [Float](repeating: 0, count: k * k)
        values.withUnsafeBufferPointer { av in
            g.withUnsafeMutableBufferPointer { gp in
                if woodbury {
                    // G = AAᵀ + (b/a) I (row-major A: AAᵀ via ssyrk NoTrans); symmetric, so the
                    // row-major lower triangle is LAPACK's upper; fill both triangles to be safe.
                    cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, m, n, 1, av.baseAddress, n, 0, gp.baseAddress, m)
                    for i in 0..<k { gp[i * k + i] += b / a }
                } else {
                    // G = a AᵀA + b I
                    cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, m, a, av.baseAddress, n, 0, gp.baseAddress, n)
                    for i in 0..<k { gp[i * k + i] += b }
                }
                for i in 0..<k { for j in 0..<i { gp[j * k + i] = gp[i * k + j] } }
            }
        }
        var info: Int32 = 0, size = Int32(k)
        var uplo: CChar = 0x4C
        spotrf_(&uplo, &size, &g, &size, &info)
        guard info == 0 else { return nil }
        return Factor(dataWeight: a, shift: b, woodbury: woodbury, values: g)
    }
}

import Foundation
import LPN
import Reconstruction
import Testing

@Suite struct SolverTests {
    /// Where ADMM starts: x0 = 0, or x0 = y, the least-squares solution for A = I.
    enum Start: CaseIterable { case zeros, leastSquares }

    /// ADMM on A = I (200 values) with the soft-threshold prox at λ = 0.3, ρ = 0.5, s = 0.25,
    /// and the threshold t = ρλ/(2s) its fixed point applies.
    func softThresholdADMM(_ xStep: SolverSettings.XStep, box: Bool) throws -> (PnPADMM, Float) {
        let lambda: Float = 0.3
        var settings = SolverSettings()
        settings.rho = 0.5
        settings.dataWeight = 0.25
        settings.xStep = xStep
        settings.cgTolerance = 1e-7
        settings.box = box
        let solver = try PnPADMM(operator: IdentityOperator(imageShape: [10, 20]),
                                 prior: SoftThresholdPrior(lambda: lambda, count: 200), settings: settings)
        return (solver, Float(settings.rho) * lambda / Float(2 * settings.dataWeight))
    }

    /// ADMM with A = I and prox = soft threshold(λ): fixed point of min s‖y − x‖² + ρλ‖x‖₁,
    /// i.e. x = soft(y, ρλ/(2s)), in closed form. From the least-squares start the first
    /// x-step returns x0 unchanged and only z moves: the stopping measure includes z, so the
    /// tolerance does not end the run there with the unregularised start.
    @Test(arguments: [SolverSettings.XStep.closedForm, .cg], Start.allCases)
    func admmSoftThresholdClosedForm(_ xStep: SolverSettings.XStep, _ start: Start) throws {
        let (solver, t) = try softThresholdADMM(xStep, box: false)
        let n = solver.op.imageCount
        #expect(solver.closedForm == (xStep == .closedForm))
        let y = randomVector(n, seed: 3)
        let x0 = start == .zeros ? [Float](repeating: 0, count: n) : y
        y.withUnsafeBufferPointer { yp in x0.withUnsafeBufferPointer { solver.start(measurement: yp.baseAddress!, initial: $0.baseAddress!) } }
        let outcome = try solver.solve(iterations: 2000, tolerance: 1e-6, divergenceFactor: 1e3)
        #expect(outcome.stopReason == .tolerance)
        #expect(outcome.records[0].relativeChange > 0.01)
        #expect(outcome.records.count > 1)
        let expected = y.map { abs($0) > t ? ($0 > 0 ? $0 - t : $0 + t) : 0 }
        let x = Array(UnsafeBufferPointer(start: solver.iterate, count: n))
        #expect(maxAbsDifference(x, expected) < 1e-4)
        let last = try #require(outcome.records.last)
        #expect(last.primalResidual! < 1e-4)
    }

    /// ADMM with the box: min s‖y − x‖² + ρλ‖x‖₁ + ι_[0,1](x) is separable and convex, so its
    /// minimiser is the unconstrained one clipped to [0, 1]: x = clip(soft(y, ρλ/(2s)), 0, 1).
    /// y ~ N(0, 1) puts about half the entries below 0 and a sixth above 1.
    @Test(arguments: [SolverSettings.XStep.closedForm, .cg])
    func admmBoxClipsTheMinimiser(_ xStep: SolverSettings.XStep) throws {
        let (solver, t) = try softThresholdADMM(xStep, box: true)
        let n = solver.op.imageCount
        #expect(solver.box)
        let y = randomVector(n, seed: 5)
        y.withUnsafeBufferPointer { solver.start(measurement: $0.baseAddress!, initial: $0.baseAddress!) }
        let outcome = try solver.solve(iterations: 5000, tolerance: 1e-6, divergenceFactor: 1e3)
        #expect(outcome.stopReason == .tolerance)
        let expected = y.map { v -> Float in
            let soft = abs(v) > t ? (v > 0 ? v - t : v + t) : 0
            return min(max(soft, 0), 1)
        }
        #expect(y.filter { $0 < -t }.count > 50 && y.filter { $0 > 1 + t }.count > 10)
        let x = Array(UnsafeBufferPointer(start: solver.iterate, count: n))
        #expect(maxAbsDifference(x, expected) < 1e-4)
    }

    /// PGD with A = I, step η and prox = soft threshold(λ) (strength fixed by the prior):
    /// fixed point η(x − y) + λ∂‖x‖₁ ∋ 0, i.e. x = soft(y, λ/η).
    @Test func pgdSoftThresholdClosedForm() throws {
        let n = 200
        let op = IdentityOperator(imageShape: [10, 20])
        var settings = SolverSettings()
        settings.step = 0.5
        settings.clip = false
        let lambda: Float = 0.4
        let solver = try PnPPGD(operator: op, prior: SoftThresholdPrior(lambda: lambda, count: n), settings: settings, normSquared: 1)
        let y = randomVector(n, seed: 4)
        let x0 = [Float](repeating: 0, count: n)
        y.withUnsafeBufferPointer { yp in x0.withUnsafeBufferPointer { solver.start(measurement: yp.baseAddress!, initial: $0.baseAddress!) } }
        let outcome = try solver.solve(iterations: 500, tolerance: 1e-7, divergenceFactor: 1e3)
        #expect(outcome.stopReason == .tolerance)
        let t: Float = lambda / 0.5
        let expected = y.map { abs($0) > t ? ($0 > 0 ? $0 - t : $0 + t) : 0 }
        #expect(maxAbsDifference(Array(UnsafeBufferPointer(start: solver.iterate, count: n)), expected) < 1e-5)
    }

    /// CG least squares on an overdetermined dense problem recovers x exactly (noise-free).
    @Test func leastSquaresRecoversOverdetermined() throws {
        let op = DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 300, columns: 100, seed: 7), imageShape: [10, 10])
        let x = randomVector(100, seed: 8)
        let y = op.forward(x)
        let solver = LeastSquaresCG(operator: op)
        let zero = [Float](repeating: 0, count: 100)
        y.withUnsafeBufferPointer { yp in zero.withUnsafeBufferPointer { solver.start(measurement: yp.baseAddress!, initial: $0.baseAddress!) } }
        let outcome = try solver.solve(iterations: 200, tolerance: 1e-6, divergenceFactor: 1e3)
        #expect(outcome.stopReason == .tolerance)
        let got = Array(UnsafeBufferPointer(start: solver.iterate, count: 100))
        #expect(maxAbsDifference(got, x) < 1e-3)
        #expect(outcome.records.last!.dataResidual < 1e-4)
    }

    /// TV-ADMM on a small MRI problem: the relative change falls below the tolerance and the
    /// residual decreases from the zero-filled start.
    @Test func admmConvergesOnSmallProblem() throws {
        let mask = MRIMask.lines(height: 32, width: 32, acceleration: 2, centerFraction: 0.1, seed: 1)
        let op = MRIOperator(mask: mask)
        var img = [Float](repeating: 0, count: 1024)
        for r in 8..<24 { for c in 10..<22 { img[r * 32 + c] = 0.8 } }
        let y = op.forward(img)
        var settings = SolverSettings()
        settings.rho = 0.2
        let solver = try PnPADMM(operator: op, prior: TVPrior(lambda: 0.01, iterations: 20, height: 32, width: 32), settings: settings)
        let x0 = op.adjoint(y)
        y.withUnsafeBufferPointer { yp in x0.withUnsafeBufferPointer { solver.start(measurement: yp.baseAddress!, initial: $0.baseAddress!) } }
        let outcome = try solver.solve(iterations: 500, tolerance: 1e-4, divergenceFactor: 1e3)
        #expect(outcome.stopReason == .tolerance)
        #expect(outcome.records.count < 500)
        #expect(outcome.records.last!.relativeChange < 1e-4)
        let x = Array(UnsafeBufferPointer(start: solver.iterate, count: 1024))
        #expect(ImageMetrics.psnr(x, img) > ImageMetrics.psnr(x0, img) + 3)
    }

    /// A step far beyond 2/‖A‖² makes PGD blow up: reported as divergence, not an image.
    @Test func pgdDivergenceIsDetected() throws {
        let op = DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 50, columns: 100, seed: 7), imageShape: [10, 10])
        var settings = SolverSettings()
        settings.step = 6
        settings.clip = false
        let solver = try PnPPGD(operator: op, prior: IdentityPrior(count: 100), settings: settings,
                                normSquared: operatorNormSquared(op))
        let y = op.forward(randomVector(100, seed: 1))
        let zero = [Float](repeating: 0, count: 100)
        y.withUnsafeBufferPointer { yp in zero.withUnsafeBufferPointer { solver.start(measurement: yp.baseAddress!, initial: $0.baseAddress!) } }
        #expect {
            _ = try solver.solve(iterations: 200, tolerance: 0, divergenceFactor: 1e3)
        } throws: { error in
            guard case ReconstructionError.diverged(let iteration, _) = error else { return false }
            return iteration > 1 && iteration < 200
        }
    }

    /// The TV prox is a contraction toward piecewise-constant images: on a noisy step it
    /// lowers the error, and λ = 0 is the identity.
    @Test func tvProxDenoises() {
        let h = 32, w = 32
        var clean = [Float](repeating: 0.2, count: h * w)
        for r in 0..<h { for c in 16..<w { clean[r * w + c] = 0.8 } }
        let noise = randomVector(h * w, seed: 5)
        let noisy = zip(clean, noise).map { $0 + 0.1 * $1 }
        let tv = TVPrior(lambda: 0.08, iterations: 100, height: h, width: w)
        var out = [Float](repeating: 0, count: h * w)
        noisy.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { tv.prox(v.baseAddress!, $0.baseAddress!) } }
        #expect(ImageMetrics.psnr(out, clean) > ImageMetrics.psnr(noisy, clean) + 6)
        let id = TVPrior(lambda: 0, iterations: 10, height: h, width: w)
        noisy.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { id.prox(v.baseAddress!, $0.baseAddress!) } }
        #expect(out == noisy)
    }

    /// The closed-form k-space x-step and the CG x-step give the same ADMM iterates.
    @Test func admmClosedFormMatchesCG() throws {
        let mask = MRIMask.lines(height: 32, width: 32, acceleration: 3, centerFraction: 0.1, seed: 4)
        let img = randomVector(1024, seed: 9).map { 0.5 + 0.2 * $0 }
        var results: [[Float]] = []
        for xStep in [SolverSettings.XStep.closedForm, .cg] {
            let op = MRIOperator(mask: mask)
            let y = op.forward(img)
            var settings = SolverSettings()
            settings.xStep = xStep
            settings.cgTolerance = 1e-7
            settings.cgIterations = 200
            let solver = try PnPADMM(operator: op, prior: TVPrior(lambda: 0.02, iterations: 10, height: 32, width: 32), settings: settings)
            let x0 = op.adjoint(y)
            y.withUnsafeBufferPointer { yp in x0.withUnsafeBufferPointer { solver.start(measurement: yp.baseAddress!, initial: $0.baseAddress!) } }
            let outcome = try solver.solve(iterations: 10, tolerance: 0, divergenceFactor: 1e3)
            #expect(outcome.records.allSatisfy { ($0.innerIterations == nil) == (xStep == .closedForm) })
            results.append(Array(UnsafeBufferPointer(start: solver.iterate, count: 1024)))
        }
        #expect(maxAbsDifference(results[0], results[1]) < 1e-3)
    }

    @Test func metrics() {
        let a = randomVector(64 * 64, seed: 2).map { 0.5 + 0.1 * $0 }
        #expect(ImageMetrics.ssim(a, a, height: 64, width: 64) > 0.999999)
        #expect(ImageMetrics.psnr(a, a) == .infinity)
        let b = a.map { $0 + 0.01 }
        #expect(abs(ImageMetrics.psnr(b, a) - 40) < 1e-3)
        #expect(ImageMetrics.ssim(b, a, height: 64, width: 64) < 1)
    }
}

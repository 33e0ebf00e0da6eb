import Foundation
import LPN
import TensorIO
import Support

/// The result of one frame.
public struct ReconstructionResult: Sendable {
    /// [H, W] (real image) or [H, W, 2] (complex image, interleaved re, im).
    public var image: Tensor
    public var diagnostics: FrameDiagnostics
}

/// Reconstructs frames of one pipeline. Owns its operator instance (buffers, FFT plans), the
/// prior (LPN engine or TV state), the solver and the measurement buffers, so it is not
/// thread-safe: one per worker thread. Only ``cancel()`` may be called from another thread.
public final class Reconstructor {
    public let pipeline: Pipeline
    public let op: LinearOperator
    public let prior: ProximalPrior
    /// nil for the direct `adjoint` solver.
    public let solver: IterativeSolver?
    let y: FloatBuffer, x0: FloatBuffer
    /// MRI pipelines whose wire k-space differs from the operator's (layout, oversampling).
    let converter: KSpaceConverter?
    let startingPoint: StartingPoint
    /// The residual of the direct `adjoint` solver's result (nil for the iterative ones).
    let directData: DataTerm?
    var phiEvaluator: LearnedPrior?
    /// The last frame's (unclipped) result, for `init: previous`.
    var previous: FloatBuffer?
    let cancellation = CancellationFlag()
    /// The `check` section's cross-validation (counted per stream, in ``streams``).
    let crossValidation: CrossValidationCheck?
    /// `solver.warm_start` or `check`: each stream's record (shared by the pipeline's workers).
    let streams: StreamStates?
    var solverState = SolverState()

    init(pipeline: Pipeline, threads: Int = 1, streams: StreamStates? = nil) throws {
        self.pipeline = pipeline
        self.streams = pipeline.solver.warmStart || pipeline.crossValidation != nil ? streams ?? StreamStates() : nil
        op = pipeline.makeOperator(threads: threads)
        let h = pipeline.imageShape[0], w = pipeline.imageShape[1]
        switch pipeline.prior {
        case .none: prior = IdentityPrior(count: op.imageCount)
        case .tv(let lambda, let iterations): prior = TVPrior(lambda: Float(lambda), iterations: iterations, height: h, width: w)
        case .lpn(let model, _, let processing, let strength):
            prior = try LPNPrior(model: model, processing: processing, height: h, width: w, strength: Float(strength),
                                 threads: threads)
        }
        let settings = pipeline.solver
        switch settings.kind {
        case .admm: solver = try PnPADMM(operator: op, prior: prior, settings: settings)
        case .pgd: solver = try PnPPGD(operator: op, prior: prior, settings: settings, normSquared: pipeline.operatorNormSquared())
        case .leastSquares: solver = LeastSquaresCG(operator: op)
        case .adjoint: solver = nil
        }
        directData = solver == nil ? DataTerm(op: op) : nil
        startingPoint = StartingPoint(settings: settings, operator: op)
        if let check = pipeline.crossValidation {
            crossValidation = try CrossValidationCheck(pipeline: pipeline, operator: op, prior: prior, settings: check)
        } else {
            crossValidation = nil
        }
        y = FloatBuffer(op.measurementCount)
        x0 = FloatBuffer(op.imageCount)
        converter = pipeline.kspace.flatMap { $0.isIdentity ? nil : $0.makeConverter() }
        if pipeline.computePhi, case .lpn(let model, _, let processing, _) = pipeline.prior {
            var padding: FramePadding? = nil, symmetry = FrameSymmetry.identity
            if case .whole(let p, let g) = processing { (padding, symmetry) = (p, g) }
            phiEvaluator = try LearnedPrior(model: model, padding: padding, symmetry: symmetry,
                                            maxIterations: pipeline.phiIterations, threads: threads)
        }
    }

    /// Checks the measurement against the pipeline and reconstructs one frame.
    ///
    /// Throws ``ReconstructionError`` on a shape or type mismatch, non-finite input, a
    /// reference of the wrong shape, or divergence (no image is returned then).
    /// Asks a running (or any later) ``reconstruct(_:reference:)`` to stop at its next solver
    /// iteration and throw ``ReconstructionError/cancelled(iteration:)``. Safe from any thread;
    /// permanent (a daemon cancels its workers once, at its drain deadline).
    public func cancel() { cancellation.set() }

    /// One frame, top to bottom (each step in the extension named after it):
    ///
    ///     measurement ─▶ load (checks, wire → operator layout, per-frame mask / coil maps)
    ///                 ─▶ starting point x₀
    ///                 ─▶ checkAndChoose (`check`: cross-validation; `choose`: this frame's prior)
    ///                 ─▶ solve (learned prior, warm or cold; or the TV reference; or direct)
    ///                 ─▶ clip, metrics against the reference
    ///                 ─▶ judge (prior statistics, flags, the stream's next check) ─▶ φ ─▶ result
    ///
    /// `stream` (with `seq`) names the frame's stream: with `solver.warm_start` the frame starts
    /// from where that stream's previous frame ended, unless its data disagree (docs/MATH.md §8).
    public func reconstruct(_ measurement: Measurement, reference: Tensor? = nil, stream: String? = nil,
                            seq: UInt64? = nil) throws -> ReconstructionResult {
        let start = MonotonicClock.seconds()
        guard !cancellation.isSet else { throw ReconstructionError.cancelled(iteration: 0) }
        var diagnostics = FrameDiagnostics(pipeline: pipeline.name, solver: pipeline.solver.kind.rawValue, prior: prior.name)
        try load(measurement, &diagnostics)
        let referenceValues = try referenceValues(reference)
        let tInit = MonotonicClock.seconds()
        startingPoint.fill(x0, measurement: y.pointer, previous: previous)
        diagnostics.stageSeconds["initialization"] = MonotonicClock.seconds() - tInit

        // The stream's record (frames without a stream id form one stream); with `check`, the
        // check runs before the solve, so that with `choose` its verdict picks this frame's prior.
        let key = stream ?? ""
        var entry = streams?.entry(for: key) ?? StreamStates.Entry()
        let candidate = try checkAndChoose(&entry, &diagnostics)
        let tSolve = MonotonicClock.seconds()
        let result = try solve(candidate, &entry, seq: seq, &diagnostics)
        diagnostics.stageSeconds["iterations"] = MonotonicClock.seconds() - tSolve
        if let (i, v) = UnsafeBufferPointer(start: result.pointer, count: result.count).withMemoryRebound(to: Float.self, { firstNonFinite($0) }) {
            throw ReconstructionError.diverged(iteration: diagnostics.iterations, reason: "non-finite value \(v) at flat index \(i)")
        }
        if pipeline.solver.initialization == .previous {
            if previous == nil { previous = FloatBuffer(result.count) }
            previous!.copy(from: result)
        }
        if pipeline.clipOutput { result.clipToUnitInterval() }
        let values = result.array
        let tMetrics = MonotonicClock.seconds()
        if let referenceValues {
            diagnostics.psnr = ImageMetrics.psnr(values, referenceValues)
            if pipeline.imageType == .float32 {
                diagnostics.ssim = ImageMetrics.ssim(values, referenceValues, height: pipeline.imageShape[0], width: pipeline.imageShape[1])
            }
        }
        diagnostics.stageSeconds["metrics"] = MonotonicClock.seconds() - tMetrics
        judge(values, candidate, &entry, &diagnostics)
        streams?.store(entry, for: key)
        if let phiEvaluator {
            let tPhi = MonotonicClock.seconds()
            diagnostics.phi = try phiEvaluator.evaluate(values, height: pipeline.imageShape[0], width: pipeline.imageShape[1])
            diagnostics.stageSeconds["phi"] = MonotonicClock.seconds() - tPhi
        }
        diagnostics.totalSeconds = MonotonicClock.seconds() - start
        let shape = pipeline.imageType == .complex64 ? pipeline.imageShape + [2] : pipeline.imageShape
        return ReconstructionResult(image: Tensor(shape: shape, data: values), diagnostics: diagnostics)
    }
}

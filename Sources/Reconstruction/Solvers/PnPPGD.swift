import Foundation
import TensorIO
import Support

/// PnP proximal gradient: x ← clip(prox_φ(x − η·Aᵀ(Ax − y)), 0, 1), η = step/‖A‖².
public final class PnPPGD: IterativeSolver {
    public let name = "pgd"
    public let op: LinearOperator
    public let prior: ProximalPrior
    public let stepSize: Float
    public let clip: Bool
    let data: DataTerm
    let x: FloatBuffer, xNext: FloatBuffer, gradient: FloatBuffer
    var residual = Double.nan
    var iteration = 0

    public var iterate: UnsafeMutablePointer<Float> { x.pointer }

    /// `normSquared`: ‖A‖² (power iteration; pass a cached value).
    public init(operator op: LinearOperator, prior: ProximalPrior, settings: SolverSettings, normSquared: Double) throws {
        guard normSquared > 0, settings.step > 0 else {
            throw ReconstructionError.invalidArgument("PGD needs step > 0 and a non-zero operator")
        }
        self.op = op
        self.prior = prior
        stepSize = Float(settings.step / normSquared)
        clip = settings.clip && op.imageType == .float32
        data = DataTerm(op: op)
        x = FloatBuffer(op.imageCount); xNext = FloatBuffer(op.imageCount); gradient = FloatBuffer(op.imageCount)
    }

    public func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>) {
        data.load(y)
        x.copy(from: x0)
        prior.reset()
        residual = data.residual(x.pointer)  // leaves Ax − y in data.ax
        iteration = 0
    }

    public func saveState(into state: inout SolverState) { state.save([x]) }

    public func resume(measurement y: UnsafePointer<Float>, from state: SolverState) { resumeFromIterate(measurement: y, from: state) }

    public func currentResidual() -> Double { residual }

    public func step() -> IterationRecord {
        let t0 = MonotonicClock.seconds()
        let n = op.imageCount
        iteration += 1
        op.adjoint(data.ax.pointer, gradient.pointer)  // Aᵀ(Ax − y) of the current x
        for i in 0..<n { gradient.pointer[i] = x.pointer[i] - stepSize * gradient.pointer[i] }
        let tProx = MonotonicClock.seconds()
        prior.prox(gradient.pointer, xNext.pointer)
        let proxSeconds = MonotonicClock.seconds() - tProx
        if clip { xNext.clipToUnitInterval() }
        let change = Vec.relativeChange(xNext.pointer, from: x.pointer, n)
        x.copy(from: xNext)
        residual = data.residual(x.pointer)
        return IterationRecord(iteration: iteration, relativeChange: change, dataResidual: residual,
                               primalResidual: nil, dualResidual: nil, innerIterations: nil, seconds: MonotonicClock.seconds() - t0,
                               proxSeconds: proxSeconds)
    }
}

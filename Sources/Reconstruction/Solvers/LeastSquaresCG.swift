import Foundation
import TensorIO
import Support

/// Least squares by conjugate gradients on the normal equations AᵀA x = Aᵀy, one CG step
/// (``ConjugateGradient``, a = 1, b = 0) per iteration; from x₀ = 0 it converges to the
/// minimum-norm solution. The "LS" baseline, and the `least_squares` start of the other solvers.
public final class LeastSquaresCG: IterativeSolver {
    public let name = "least_squares"
    public let op: LinearOperator
    let data: DataTerm
    let x: FloatBuffer, xPrevious: FloatBuffer, aty: FloatBuffer
    let cg: ConjugateGradient
    var iteration = 0

    public var iterate: UnsafeMutablePointer<Float> { x.pointer }

    public init(operator op: LinearOperator) {
        self.op = op
        let n = op.imageCount
        data = DataTerm(op: op)
        x = FloatBuffer(n); xPrevious = FloatBuffer(n); aty = FloatBuffer(n)
        cg = ConjugateGradient(op: op)
    }

    public func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>) {
        data.load(y)
        op.adjoint(y, aty.pointer)
        x.copy(from: x0)
        cg.start(x.pointer, rhs: aty.pointer, a: 1, b: 0)
        iteration = 0
    }

    public func saveState(into state: inout SolverState) { state.save([x]) }

    public func resume(measurement y: UnsafePointer<Float>, from state: SolverState) { resumeFromIterate(measurement: y, from: state) }

    public func currentResidual() -> Double { data.residual(x.pointer) }

    public func step() -> IterationRecord {
        let t0 = MonotonicClock.seconds()
        iteration += 1
        xPrevious.copy(from: x)
        cg.step(x.pointer)
        let change = Vec.relativeChange(x.pointer, from: xPrevious.pointer, op.imageCount)
        let residual = data.residual(x.pointer)
        return IterationRecord(iteration: iteration, relativeChange: change, dataResidual: residual,
                               primalResidual: nil, dualResidual: nil, innerIterations: nil,
                               seconds: MonotonicClock.seconds() - t0)
    }
}

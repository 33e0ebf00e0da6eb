import Foundation

/// The solvers' start x₀ (a pipeline's `solver.init`): Aᵀy, zeros, the previous frame's result
/// (Aᵀy when there is none), or `initIterations` CG steps of least squares from zero.
/// Owns the CG it needs, so one per operator and thread.
final class StartingPoint {
    let initialization: SolverSettings.Initialization
    let iterations: Int
    let op: LinearOperator
    private let cg: LeastSquaresCG?

    init(settings: SolverSettings, operator op: LinearOperator) {
        initialization = settings.initialization
        iterations = settings.initIterations
        self.op = op
        cg = settings.initialization == .leastSquares && settings.kind != .adjoint ? LeastSquaresCG(operator: op) : nil
    }

    /// Writes x₀ for measurement y into `x0`.
    func fill(_ x0: FloatBuffer, measurement y: UnsafePointer<Float>, previous: FloatBuffer? = nil) {
        switch initialization {
        case .zeros: x0.fill(0)
        case .adjoint: op.adjoint(y, x0.pointer)
        case .previous:
            if let previous { x0.copy(from: previous) } else { op.adjoint(y, x0.pointer) }
        case .leastSquares:
            if let cg {
                x0.fill(0)
                cg.start(measurement: y, initial: x0.pointer)
                for _ in 0..<iterations { _ = cg.step() }
                x0.copy(from: cg.iterate)
            } else {
                op.adjoint(y, x0.pointer)
            }
        }
    }
}

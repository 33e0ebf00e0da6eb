import Foundation

/// Shared by the solvers: y, ‖y‖ and the residual ‖Ax − y‖/‖y‖.
final class DataTerm {
    let op: LinearOperator
    let y: FloatBuffer, ax: FloatBuffer
    var yNorm = 1.0
    init(op: LinearOperator) {
        self.op = op
        y = FloatBuffer(op.measurementCount)
        ax = FloatBuffer(op.measurementCount)
    }
    func load(_ measurement: UnsafePointer<Float>) {
        y.copy(from: measurement)
        yNorm = max(Vec.norm(y.pointer, y.count), 1e-30)
    }
    /// Leaves Ax − y in `ax` and returns ‖Ax − y‖/‖y‖.
    func residual(_ x: UnsafePointer<Float>) -> Double {
        op.forward(x, ax.pointer)
        Vec.axpy(-1, y.pointer, ax.pointer, ax.count)
        return Vec.norm(ax.pointer, ax.count) / yNorm
    }
}

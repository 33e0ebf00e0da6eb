import Foundation

/// The common shape of the iterative solvers: start, step, and (extension) solve.
public protocol IterativeSolver: AnyObject {
    var name: String { get }
    /// The current iterate x (image floats).
    var iterate: UnsafeMutablePointer<Float> { get }
    /// Resets the state for a new frame: measurement y, start x0.
    func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>)
    /// One iteration.
    func step() -> IterationRecord
    /// ‖A x − y‖/‖y‖ of the current iterate.
    func currentResidual() -> Double
    /// The variables a later frame can start from: x first, then the splitting variables.
    func saveState(into state: inout SolverState)
    /// Starts a frame with measurement y from a saved state (a warm start): x and the
    /// splitting variables as they were, the new data.
    func resume(measurement y: UnsafePointer<Float>, from state: SolverState)
}

/// A solver's variables at the end of a frame (``IterativeSolver/saveState(into:)``).
public struct SolverState: Sendable {
    public var variables: [[Float]] = []
    public init() {}
}

extension SolverState {
    /// Copies the buffers in (reusing this state's arrays when their sizes match).
    mutating func save(_ buffers: [FloatBuffer]) {
        if variables.count != buffers.count || zip(variables, buffers).contains(where: { $0.count != $1.count }) {
            variables = buffers.map { [Float](repeating: 0, count: $0.count) }
        }
        for (i, buffer) in buffers.enumerated() {
            variables[i].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: buffer.pointer, count: buffer.count) }
        }
    }

    /// Copies the saved variables into the buffers (as many as both have).
    func load(into buffers: [FloatBuffer]) {
        for (values, buffer) in zip(variables, buffers) where values.count == buffer.count {
            values.withUnsafeBufferPointer { buffer.copy(from: $0.baseAddress!) }
        }
    }
}

extension IterativeSolver {
    /// A solver whose only variable is x: resuming is starting from the saved x.
    func resumeFromIterate(measurement y: UnsafePointer<Float>, from state: SolverState) {
        state.variables[0].withUnsafeBufferPointer { start(measurement: y, initial: $0.baseAddress!) }
    }
}

/// What a run of ``IterativeSolver/solve(iterations:tolerance:divergenceFactor:callback:)`` ended with.
public struct SolveOutcome: Sendable {
    public var records: [IterationRecord]
    public var stopReason: StopReason
    public var initialResidual: Double
}

extension IterativeSolver {
    /// Iterates until `iterations` or relative change < `tolerance`. Throws
    /// ``ReconstructionError/diverged(iteration:reason:)`` on non-finite values or when the
    /// residual exceeds `divergenceFactor`·max(initial residual, 1). `callback` sees every
    /// record; returning false stops early (stop reason maxIterations).
    public func solve(iterations: Int, tolerance: Double, divergenceFactor: Double,
                      callback: ((IterationRecord) -> Bool)? = nil) throws -> SolveOutcome {
        let initial = currentResidual()
        var records: [IterationRecord] = []
        records.reserveCapacity(iterations)
        var reason = StopReason.maxIterations
        for _ in 0..<iterations {
            let record = step()
            records.append(record)
            if !record.relativeChange.isFinite || !record.dataResidual.isFinite {
                throw ReconstructionError.diverged(iteration: record.iteration, reason: "non-finite iterate (relative change \(record.relativeChange), residual \(record.dataResidual))")
            }
            if record.dataResidual > divergenceFactor * max(initial.isFinite ? initial : 1, 1) {
                throw ReconstructionError.diverged(iteration: record.iteration, reason: "data residual \(record.dataResidual) exceeds \(divergenceFactor)× the initial \(initial)")
            }
            if let callback, !callback(record) { break }
            if record.relativeChange < tolerance { reason = .tolerance; break }
        }
        return SolveOutcome(records: records, stopReason: reason, initialResidual: initial)
    }
}

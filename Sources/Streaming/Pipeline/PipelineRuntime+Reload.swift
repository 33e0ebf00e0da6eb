import Foundation
import Logging
import TensorIO

/// Reload (docs/DEPLOY.md, "Reload"): a new configuration generation's processors take the
/// frames decoded from then on; the old ones finish theirs and are released.
extension PipelineRuntime {
    /// The configuration generation new frames get.
    public var currentGeneration: Int { update { $0.generation } }

    /// Builds one processor per worker from `backend` (call beside the running pipeline; this
    /// loads models and may take a while). Throws when a processor cannot be made.
    public func makeProcessors(_ backend: any PipelineBackend) throws -> [any FrameProcessor] {
        guard backend.interface == interface else {
            throw FrameFailure(.internal, "the new pipeline's interface \(backend.interface) differs from the running one \(interface)")
        }
        return try (0..<configuration.workers).map { _ in try backend.makeProcessor() }
    }

    /// Frames decoded from now on go to `processors` (generation `generation`); frames already
    /// decoded finish on the processors of their own generation, which are released after.
    public func swap(to processors: [any FrameProcessor], generation: Int) {
        update {
            $0.processors[generation] = processors
            $0.generation = generation
        }
        retireOldGenerations()
    }

    /// Releases the processors of every generation but the current one that has no frame left.
    func retireOldGenerations() {
        let (current, known) = update { ($0.generation, Array($0.processors.keys)) }
        guard known.count > 1 else { return }  // the usual case: one generation, nothing to retire
        for generation in known where generation != current && !ledger.hasOpen(generation: generation) {
            update { _ = $0.processors.removeValue(forKey: generation) }
        }
    }
}

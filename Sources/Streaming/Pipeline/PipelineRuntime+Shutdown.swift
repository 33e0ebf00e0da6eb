import Foundation
import Logging
import TensorIO

/// Shutdown: stop reading, drain what was accepted until a deadline, report the rest as
/// `drain_timeout` error events and cancel the workers.
extension PipelineRuntime {
    /// Seconds a cancelled reconstruction has to reach its next cancellation point.
    static let cancelGrace = 10.0

    /// Stops reading from the socket and waits for the ingest thread to end; messages already
    /// read continue through the stages. Use ``requestStop()`` and ``drain(until:)`` at
    /// shutdown: the ingest thread may be waiting for room in a full inbox.
    public func stopAccepting() {
        requestStop()
        _ = waitForIngest(until: .distantFuture)
    }

    /// Tells the ingest thread to stop reading; returns at once.
    public func requestStop() {
        update { $0.stopRequested = true }
    }

    private func waitForIngest(until deadline: Date) -> Bool {
        let timeout: DispatchTime = deadline == .distantFuture ? .distantFuture : .now() + max(0, deadline.timeIntervalSinceNow)
        guard ingestFinished.wait(timeout: timeout) == .success else { return false }
        ingestFinished.signal()  // idempotent for later callers
        return true
    }

    /// Waits for every accepted message to be published, until `deadline`; then reports
    /// whatever is left (queued or still on a worker) as `drain_timeout` error events, stops
    /// the workers at their next iteration and joins them.
    /// - Returns: true when everything finished in time.
    @discardableResult
    public func drain(until deadline: Date) -> Bool {
        requestStop()
        // The ingest thread may wait for room in the decode inbox, the decoder for room in the
        // reconstruction inbox: every wait is bounded by the deadline.
        var clean = waitForIngest(until: deadline)
        clean = clean && decodeStage.waitUntilIdle(deadline: deadline)
        clean = clean && reconstructStage.waitUntilIdle(deadline: deadline)
        clean = clean && encodeStage.waitUntilIdle(deadline: deadline)
        if clean { return true }
        // Closing wakes producers blocked in submit: their messages become drain_timeout events.
        decodeStage.close()
        reconstructStage.close()
        _ = waitForIngest(until: .distantFuture)
        for raw in decodeStage.removeAll() {
            reject(raw, .drainTimeout, "drain timeout: not decoded before shutdown")
        }
        for entry in reconstructStage.removeAll() {
            complete(.failure(entry, event(for: entry, .drainTimeout, "drain timeout: not reconstructed before shutdown")))
        }
        for entry in ledger.openEntries {
            complete(.failure(entry, event(for: entry, .drainTimeout, "drain timeout: reconstruction still running at shutdown")))
        }
        // Nothing may still compute (inside BLAS) while the process exits.
        for processor in update({ $0.processors.values.flatMap { $0 } }) { processor.cancel() }
        if !reconstructStage.waitUntilIdle(deadline: Date(timeIntervalSinceNow: Self.cancelGrace)) {
            logger.error("\(interface.name): a reconstruction did not stop within \(Self.cancelGrace) s of its cancellation")
        }
        _ = encodeStage.waitUntilIdle(deadline: Date(timeIntervalSinceNow: 5))
        return false
    }
}

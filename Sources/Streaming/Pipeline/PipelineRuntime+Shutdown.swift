import Foundation
import Logging
import Support

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
        if !waitForIngest(until: MonotonicClock.seconds() + Self.ingestGrace) {
            logger.error("\(interface.name): the ingest thread did not stop within \(Self.ingestGrace) s")
        }
    }

    /// Seconds the ingest thread has to notice a stop (it polls every 50 ms) once nothing blocks it.
    static let ingestGrace = 5.0

    /// Tells the ingest thread to stop reading; returns at once.
    public func requestStop() {
        update { $0.stopRequested = true }
    }

    /// Joins the ingest thread, until `deadline` (``MonotonicClock`` seconds).
    private func waitForIngest(until deadline: Double) -> Bool {
        ingestFinished.wait(timeout: max(0, deadline - MonotonicClock.seconds()))
    }

    /// Waits for every accepted message to be published, until `deadline`; then reports
    /// whatever is left (queued or still on a worker) as `drain_timeout` error events, stops
    /// the workers at their next iteration and joins them.
    /// - Returns: true when everything finished in time.
    @discardableResult
    public func drain(until deadline: Double) -> Bool {
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
        if !waitForIngest(until: MonotonicClock.seconds() + Self.ingestGrace) {
            logger.error("\(interface.name): the ingest thread did not stop within \(Self.ingestGrace) s of closing the inboxes")
        }
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
        if !reconstructStage.waitUntilIdle(deadline: MonotonicClock.seconds() + Self.cancelGrace) {
            logger.error("\(interface.name): a reconstruction did not stop within \(Self.cancelGrace) s of its cancellation")
        }
        _ = encodeStage.waitUntilIdle(deadline: MonotonicClock.seconds() + 5)
        return false
    }
}

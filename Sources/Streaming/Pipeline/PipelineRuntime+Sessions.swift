import Foundation
import Support

/// Receives the outcomes of the frames a session submitted (``InboundFrame/replyTo``) as the
/// encode stage publishes them (an MRD TCP session answering its client). Called on the encode
/// stage's worker: must return quickly.
public protocol StreamReplySink: AnyObject, Sendable {
    func frame(_ frame: InboundFrame, _ result: ProcessedFrame)
    func error(_ event: ErrorEvent)
}

/// What a session outside the ZeroMQ ingest (the MRD TCP endpoint) needs of a pipeline: its
/// frames enter at the reconstruct stage (the session assembles them itself), its outcomes come
/// back through a ``StreamReplySink`` and are published on PUB like every other stream's.
extension PipelineRuntime {
    /// Sends the outcomes of frames with `replyTo == stream` to `sink` too, until
    /// ``detach(stream:)``. (A ZeroMQ stream of the same name is not routed: its frames have no
    /// `replyTo`.)
    public func attach(stream: String, sink: any StreamReplySink) {
        replySinks.withLock { $0[stream] = sink }
    }

    public func detach(stream: String) {
        _ = replySinks.withLock { $0.removeValue(forKey: stream) }
    }

    func replySink(for stream: String?) -> (any StreamReplySink)? {
        guard let stream else { return nil }
        return replySinks.withLock { $0[stream] }
    }

    /// Hands an assembled frame to the workers, waiting while they are saturated (the session
    /// stops reading its connection meanwhile). False when the daemon stopped first; the frame
    /// is then reported as an error event.
    public func submitAssembled(_ frame: InboundFrame) -> Bool {
        metrics.received()
        let entry = ledger.enter(frame, generation: currentGeneration)
        guard reconstructStage.submit(entry) else {
            complete(.failure(entry, event(for: entry, .drainTimeout, "the daemon stopped before this frame reached a worker")))
            return false
        }
        return true
    }

    /// Publishes an error event of a session (on PUB, counted, logged).
    public func report(_ event: ErrorEvent) {
        var event = event
        event.generation = currentGeneration
        publishError(event)
    }

    /// Counts an MRD message a session accepted and did not use.
    public func countIgnored(kind: String) { metrics.ignored(kind: kind) }
}

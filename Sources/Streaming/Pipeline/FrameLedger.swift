import Foundation
import Support

/// Which decoded frames of a pipeline are still owed an output, and the per-stream index
/// each got (its place in the stream's output order). A frame is entered once when decoded
/// and settled once: by its result, or earlier by an abandonment at the drain deadline, in
/// which case the late result is discarded.
public final class FrameLedger: Sendable {
    public struct Entry: Sendable {
        public var frame: InboundFrame
        /// Its place in its stream's output order.
        public var index: UInt64
        /// The configuration generation whose processors reconstruct it.
        public var generation: Int
    }

    private struct State {
        var nextIndex: [String: UInt64] = [:]
        var open: [Key: Entry] = [:]
    }

    private struct Key: Hashable {
        var stream: String
        var index: UInt64
    }

    private let state = Locked(State())

    public init() {}

    /// Gives the frame the next index of its stream and records it as open.
    public func enter(_ frame: InboundFrame, generation: Int = 1) -> Entry {
        state.withLock { s in
            let stream = frame.header.stream
            let index = s.nextIndex[stream, default: 0]
            s.nextIndex[stream] = index + 1
            let entry = Entry(frame: frame, index: index, generation: generation)
            s.open[Key(stream: stream, index: index)] = entry
            return entry
        }
    }

    /// Closes the entry; false when it was already closed (its outcome must then be dropped).
    public func settle(_ entry: Entry) -> Bool {
        state.withLock { $0.open.removeValue(forKey: Key(stream: entry.frame.header.stream, index: entry.index)) != nil }
    }

    /// Every open entry, oldest index first.
    public var openEntries: [Entry] {
        state.withLock { $0.open.values.sorted { $0.index < $1.index } }
    }

    /// True while an open entry belongs to `generation`.
    public func hasOpen(generation: Int) -> Bool {
        state.withLock { $0.open.values.contains { $0.generation == generation } }
    }

    public var openCount: Int { state.withLock { $0.open.count } }
}

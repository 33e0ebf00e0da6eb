import Dispatch
import Foundation
import Support

/// A pipeline stage: a bounded inbox drained by a fixed pool of workers, each a serial
/// Dispatch queue.
///
/// A worker runs only while the inbox has items (no thread parks on an empty inbox), at most
/// `workers` items are processed at once, and at most `capacity` wait. A full inbox either
/// blocks the producer (``submit(_:timeout:)``: lossless, the pressure travels upstream) or
/// drops by policy (``offer(_:policy:)``: for sources that cannot be slowed down).
public final class BoundedStage<Item: Sendable>: Sendable {
    public enum DropPolicy: String, Codable, Sendable, CaseIterable {
        case dropOldest = "drop-oldest"
        case dropNewest = "drop-newest"
    }

    /// The inbox, the idle workers and the counters: one value under one lock.
    private struct State {
        var inbox: RingBuffer<Item>
        var idleWorkers: [Int]
        var closed = false
        var counters: StageStats
    }

    public let name: String
    public let capacity: Int
    public let workers: Int
    private let queues: [DispatchQueue]
    private let handler: @Sendable (_ worker: Int, _ item: Item) -> Void
    private let state: LockedCondition<State>

    /// - Parameter handler: called on worker `worker`'s queue for each item, one at a time per worker.
    public init(name: String, capacity: Int, workers: Int = 1, qos: DispatchQoS = .default,
                handler: @escaping @Sendable (_ worker: Int, _ item: Item) -> Void) {
        precondition(capacity >= 1 && workers >= 1)
        self.name = name
        self.capacity = capacity
        self.workers = workers
        self.handler = handler
        queues = (0..<workers).map { DispatchQueue(label: "lpnd.\(name).\($0)", qos: qos) }
        state = LockedCondition(State(inbox: RingBuffer(capacity: capacity), idleWorkers: Array((0..<workers).reversed()),
                                      counters: StageStats(name: name, capacity: capacity, workers: workers)))
    }

    /// Enqueues `item`, waiting while the inbox is full.
    /// - Returns: false if the stage was closed or `timeout` (seconds) passed first; the item
    ///   was then not taken.
    public func submit(_ item: Item, timeout: Double? = nil) -> Bool {
        let capacity = capacity
        let (taken, worker) = state.wait(until: { $0.inbox.count < capacity || $0.closed },
                                         deadline: timeout.map { MonotonicClock.seconds() + $0 }) { s, ready -> (Bool, Int?) in
            guard ready, !s.closed else { return (false, nil) }
            return (true, Self.enqueue(item, into: &s))
        }
        if let worker { start(worker) }
        return taken
    }

    /// Enqueues `item` without waiting. When the inbox is full, one item is dropped by policy
    /// and returned (the oldest queued one, or `item` itself); nil when nothing was dropped.
    public func offer(_ item: Item, policy: DropPolicy) -> Item? {
        let (dropped, worker): (Item?, Int?) = state.withLock { s in
            if s.closed { return (item, nil) }
            guard s.inbox.count >= capacity else { return (nil, Self.enqueue(item, into: &s)) }
            s.counters.dropped += 1
            switch policy {
            case .dropNewest:
                return (item, nil)
            case .dropOldest:
                let oldest = s.inbox.popFirst()!
                return (oldest, Self.enqueue(item, into: &s))
            }
        }
        if let worker { start(worker) }
        return dropped
    }

    /// Waits until the inbox is empty and every worker idle, or `deadline` (``MonotonicClock``
    /// seconds) passes.
    public func waitUntilIdle(deadline: Double) -> Bool {
        let workers = workers
        return state.wait(until: { $0.inbox.isEmpty && $0.idleWorkers.count == workers }, deadline: deadline) { _, idle in idle }
    }

    /// Stops accepting; wakes blocked producers. Queued items stay until taken by ``removeAll()``
    /// or processed.
    public func close() {
        state.withLock { $0.closed = true }
    }

    /// Removes and returns every queued (not yet started) item.
    public func removeAll() -> [Item] {
        state.withLock { s in
            var items: [Item] = []
            while let item = s.inbox.popFirst() { items.append(item) }
            return items
        }
    }

    public var stats: StageStats {
        state.withLock { s in
            var stats = s.counters
            stats.depth = s.inbox.count
            stats.busyWorkers = workers - s.idleWorkers.count
            return stats
        }
    }

    /// Queues `item`; returns the idle worker to start, if one was idle.
    private static func enqueue(_ item: Item, into s: inout State) -> Int? {
        s.inbox.append(item)
        s.counters.accepted += 1
        s.counters.maxDepth = max(s.counters.maxDepth, s.inbox.count)
        return s.idleWorkers.popLast()
    }

    private func start(_ worker: Int) {
        queues[worker].async { self.drain(worker) }
    }

    /// A worker's run: take items until the inbox is empty, then go idle. Each item is counted
    /// processed in the same lock as the next take (or the going idle).
    private func drain(_ worker: Int) {
        var handled = false
        while let item = state.withLock({ s -> Item? in
            if handled { s.counters.processed += 1 }
            guard let item = s.inbox.popFirst() else {
                s.idleWorkers.append(worker)
                return nil
            }
            return item  // the lock's release wakes a producer blocked on the full inbox
        }) {
            handler(worker, item)
            handled = true
        }
    }
}

/// Counters of one stage, as reported by the stats call.
public struct StageStats: Codable, Sendable, Equatable {
    public var name: String
    public var capacity: Int
    public var workers: Int
    public var depth = 0
    public var maxDepth = 0
    public var busyWorkers = 0
    public var accepted = 0
    public var processed = 0
    public var dropped = 0

    enum CodingKeys: String, CodingKey {
        case name, capacity, workers, depth, accepted, processed, dropped
        case maxDepth = "max_depth", busyWorkers = "busy_workers"
    }
}

/// A fixed-capacity FIFO over one contiguous buffer.
struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = Array(repeating: nil, count: capacity) }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element) {
        precondition(count < storage.count, "ring buffer full")
        storage[(head + count) % storage.count] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return element
    }
}

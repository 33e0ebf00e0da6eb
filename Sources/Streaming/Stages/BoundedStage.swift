import Dispatch
import Foundation

/// A pipeline stage: a bounded inbox drained by a fixed pool of workers, each a serial
/// Dispatch queue.
///
/// A worker runs only while the inbox has items (no thread parks on an empty inbox), at most
/// `workers` items are processed at once, and at most `capacity` wait. A full inbox either
/// blocks the producer (``submit(_:timeout:)``: lossless, the pressure travels upstream) or
/// drops by policy (``offer(_:policy:)``: for sources that cannot be slowed down).
public final class BoundedStage<Item: Sendable>: @unchecked Sendable {  // safe: inbox, workers and counters only under `condition`
    public enum DropPolicy: String, Codable, Sendable, CaseIterable {
        case dropOldest = "drop-oldest"
        case dropNewest = "drop-newest"
    }

    public let name: String
    public let capacity: Int
    public let workers: Int
    private let queues: [DispatchQueue]
    private let handler: @Sendable (_ worker: Int, _ item: Item) -> Void
    private let condition = NSCondition()
    private var inbox: RingBuffer<Item>
    private var idleWorkers: [Int]
    private var closed = false
    private var counters = StageStats(name: "", capacity: 0, workers: 0)

    /// - Parameter handler: called on worker `worker`'s queue for each item, one at a time per worker.
    public init(name: String, capacity: Int, workers: Int = 1, qos: DispatchQoS = .default,
                handler: @escaping @Sendable (_ worker: Int, _ item: Item) -> Void) {
        precondition(capacity >= 1 && workers >= 1)
        self.name = name
        self.capacity = capacity
        self.workers = workers
        self.handler = handler
        queues = (0..<workers).map { DispatchQueue(label: "lpnd.\(name).\($0)", qos: qos) }
        inbox = RingBuffer(capacity: capacity)
        idleWorkers = Array((0..<workers).reversed())
        counters = StageStats(name: name, capacity: capacity, workers: workers)
    }

    /// Enqueues `item`, waiting while the inbox is full.
    /// - Returns: false if the stage was closed or `timeout` (seconds) passed first; the item
    ///   was then not taken.
    public func submit(_ item: Item, timeout: Double? = nil) -> Bool {
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        condition.lock()
        defer { condition.unlock() }
        while inbox.count >= capacity && !closed {
            if let deadline {
                if !condition.wait(until: deadline) && inbox.count >= capacity { return false }
            } else {
                condition.wait()
            }
        }
        guard !closed else { return false }
        enqueueLocked(item)
        return true
    }

    /// Enqueues `item` without waiting. When the inbox is full, one item is dropped by policy
    /// and returned (the oldest queued one, or `item` itself); nil when nothing was dropped.
    public func offer(_ item: Item, policy: DropPolicy) -> Item? {
        condition.lock()
        defer { condition.unlock() }
        if closed { return item }
        guard inbox.count >= capacity else {
            enqueueLocked(item)
            return nil
        }
        counters.dropped += 1
        switch policy {
        case .dropNewest:
            return item
        case .dropOldest:
            let oldest = inbox.popFirst()!
            enqueueLocked(item)
            return oldest
        }
    }

    /// Waits until the inbox is empty and every worker idle, or the deadline passes.
    public func waitUntilIdle(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !(inbox.isEmpty && idleWorkers.count == workers) {
            if !condition.wait(until: deadline) { return inbox.isEmpty && idleWorkers.count == workers }
        }
        return true
    }

    /// Stops accepting; wakes blocked producers. Queued items stay until taken by ``removeAll()``
    /// or processed.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Removes and returns every queued (not yet started) item.
    public func removeAll() -> [Item] {
        condition.lock()
        defer { condition.unlock() }
        var items: [Item] = []
        while let item = inbox.popFirst() { items.append(item) }
        condition.broadcast()
        return items
    }

    public var stats: StageStats {
        condition.lock()
        defer { condition.unlock() }
        var s = counters
        s.depth = inbox.count
        s.busyWorkers = workers - idleWorkers.count
        return s
    }

    private func enqueueLocked(_ item: Item) {
        inbox.append(item)
        counters.accepted += 1
        counters.maxDepth = max(counters.maxDepth, inbox.count)
        if let worker = idleWorkers.popLast() {
            queues[worker].async { self.drain(worker) }
        }
    }

    /// A worker's run: take items until the inbox is empty, then go idle.
    private func drain(_ worker: Int) {
        while true {
            condition.lock()
            guard let item = inbox.popFirst() else {
                idleWorkers.append(worker)
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.broadcast()  // space for a blocked producer
            condition.unlock()
            handler(worker, item)
            condition.lock()
            counters.processed += 1
            condition.unlock()
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

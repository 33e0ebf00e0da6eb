import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Streaming

/// The browser live view's state and its Server-Sent Events (docs/DEPLOY.md, "Live view"):
/// the latest frame of every pipeline and stream, pushed to every open page at most
/// `maxPerSecond` times a second per stream (the newest frame wins), and the pipelines'
/// queues and drops once a second. Frames reach it from the encode stage through
/// ``PublishedFrame``; it never blocks that stage (events go into unbounded-but-coalesced
/// per-page buffers of the latest event per stream).
final class LiveView: Service, @unchecked Sendable {  // safe: `state` is only touched under `lock`
    private struct State {
        var latest: [String: [UInt8]] = [:]          // "pipeline/stream" → SSE event
        var dirty: Set<String> = []
        var lastSent: [String: Double] = [:]
        var clients: [Int: AsyncStream<ByteBuffer>.Continuation] = [:]
        var nextClient = 0
    }

    private let lock = NSLock()
    private var state = State()
    private let daemon: Daemon
    let maxPerSecond: Double

    init(daemon: Daemon, maxPerSecond: Double = 4) {
        self.daemon = daemon
        self.maxPerSecond = maxPerSecond
    }

    /// Open pages.
    var clientCount: Int { update { $0.clients.count } }

    /// From the encode stage: remember the frame as its stream's latest.
    func observe(_ frame: PublishedFrame) {
        let key = "\(frame.pipeline)/\(frame.stream)"
        var body = Array("{\"pipeline\":".utf8) + jsonString(frame.pipeline) + Array(",\"stream\":".utf8) + jsonString(frame.stream)
        body += Array(",\"published_ms\":\(Int(Date().timeIntervalSince1970 * 1000)),\"header\":".utf8) + frame.header
        body += Array(",\"png\":\"".utf8) + Array((frame.png.map { Data($0).base64EncodedString() } ?? "").utf8)
        body += Array("\",\"diagnostics\":".utf8) + frame.diagnostics + [UInt8(ascii: "}")]
        // One SSE data line: the (pretty-printed) diagnostics' line breaks are JSON whitespace.
        let event = Array("event: frame\ndata: ".utf8) + body.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 } + Array("\n\n".utf8)
        update {
            $0.latest[key] = event
            $0.dirty.insert(key)
        }
        flush()
    }

    /// Sends every stream's pending latest frame whose rate limit allows it.
    private func flush() {
        let now = Date().timeIntervalSince1970
        let (events, clients) = update { s -> ([[UInt8]], [AsyncStream<ByteBuffer>.Continuation]) in
            var events: [[UInt8]] = []
            for key in s.dirty where now - (s.lastSent[key] ?? 0) >= 1 / maxPerSecond {
                events.append(s.latest[key]!)
                s.lastSent[key] = now
                s.dirty.remove(key)
            }
            return (events, Array(s.clients.values))
        }
        for event in events { for client in clients { client.yield(ByteBuffer(bytes: event)) } }
    }

    /// The SSE body of one page: the latest frame of every stream at once, then updates.
    func subscribe() -> AsyncStream<ByteBuffer> {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let (id, snapshot) = update { s -> (Int, [[UInt8]]) in
            let id = s.nextClient
            s.nextClient += 1
            s.clients[id] = continuation
            return (id, Array(s.latest.values))
        }
        continuation.yield(ByteBuffer(bytes: Array(": lpnd live view\n\n".utf8)))
        for event in snapshot { continuation.yield(ByteBuffer(bytes: event)) }
        continuation.onTermination = { [weak self] _ in self?.update { _ = $0.clients.removeValue(forKey: id) } }
        return stream
    }

    /// Rate-limited frames still pending, and the queues once a second.
    func run() async throws {
        var tick = 0
        while !Task.isShuttingDownGracefully {
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
            flush()
            tick += 1
            if tick % 4 == 0 { broadcast(statsEvent()) }
        }
        update { s in for client in s.clients.values { client.finish() } }
    }

    private func statsEvent() -> [UInt8] {
        let pipelines = daemon.stats.pipelines.map { p -> [String: Any] in
            ["pipeline": p.pipeline, "received": p.received, "frames": p.frames, "errors": p.errors, "dropped": p.dropped,
             "in_flight": p.inFlight,
             "stages": p.stages.map { ["name": $0.name, "depth": $0.depth, "capacity": $0.capacity, "busy": $0.busyWorkers] }]
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["pipelines": pipelines, "generation": daemon.stats.generation])) ?? Data("{}".utf8)
        return Array("event: stats\ndata: ".utf8) + [UInt8](data) + Array("\n\n".utf8)
    }

    private func broadcast(_ event: [UInt8]) {
        for client in update({ Array($0.clients.values) }) { client.yield(ByteBuffer(bytes: event)) }
    }

    private func jsonString(_ text: String) -> [UInt8] {
        [UInt8]((try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8))
    }

    private func update<R>(_ body: (inout State) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }
}

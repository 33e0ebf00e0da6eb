import Foundation
import Support
import Hummingbird
import Logging
import ServiceLifecycle
import Streaming

/// The browser live view's state and its Server-Sent Events (docs/DEPLOY.md, "Live view"):
/// the latest frame of every pipeline and stream, pushed to every open page at most
/// `maxPerSecond` times a second per stream (the newest frame wins), and the pipelines'
/// queues and drops once a second. Frames reach it from the encode stage through
/// ``PublishedFrame``; it never blocks that stage (it keeps the latest frame per stream, and
/// each page's buffer holds at most 64 events, the newest).
final class LiveView: Service, @unchecked Sendable {  // safe: `state` is only touched under `lock`
    private struct State {
        var latest: [String: (frame: PublishedFrame, publishedMs: Int)] = [:]  // key "pipeline/stream"
        var dirty: Set<String> = []
        var lastSent: [String: Double] = [:]
        var clients: [Int: AsyncStream<ByteBuffer>.Continuation] = [:]
        var nextClient = 0
        /// Set when the service stops: every open page's stream has ended, a new page's ends at once.
        var stopped = false
    }

    private let state = Locked(State())
    private let daemon: Daemon
    let maxPerSecond: Double

    init(daemon: Daemon, maxPerSecond: Double = 4) {
        self.daemon = daemon
        self.maxPerSecond = maxPerSecond
    }

    /// Open pages.
    var clientCount: Int { update { $0.clients.count } }

    /// From the encode stage: remember the frame as its stream's latest (the event, its PNG
    /// and base64 are made only when a page is there to receive it).
    func observe(_ frame: PublishedFrame) {
        let key = "\(frame.pipeline)/\(frame.stream)"
        let publishedMs = Int(Date().timeIntervalSince1970 * 1000)
        update {
            $0.latest[key] = (frame, publishedMs)
            $0.dirty.insert(key)
        }
        flush()
    }

    /// `event: frame` with one data line of JSON: names, publication time, header, PNG, diagnostics.
    private func event(_ frame: PublishedFrame, publishedMs: Int) -> [UInt8] {
        let png = frame.png ?? FrameEncoder.png(of: frame.result)
        var body = Array("{\"pipeline\":".utf8) + jsonString(frame.pipeline) + Array(",\"stream\":".utf8) + jsonString(frame.stream)
        body += Array(",\"published_ms\":\(publishedMs),\"header\":".utf8) + frame.header
        body += Array(",\"png\":\"".utf8) + Array((png.map { Data($0).base64EncodedString() } ?? "").utf8)
        body += Array("\",\"diagnostics\":".utf8) + frame.result.diagnosticsJSON + [UInt8(ascii: "}")]
        // One SSE data line: every part is compact JSON (no line breaks).
        return Array("event: frame\ndata: ".utf8) + body + Array("\n\n".utf8)
    }

    /// Sends every stream's pending latest frame whose rate limit allows it (nothing is made
    /// while no page is open).
    private func flush() {
        let now = MonotonicClock.seconds()
        let (due, clients) = update { s -> ([(frame: PublishedFrame, publishedMs: Int)], [AsyncStream<ByteBuffer>.Continuation]) in
            guard !s.clients.isEmpty else { return ([], []) }
            var due: [(frame: PublishedFrame, publishedMs: Int)] = []
            for key in s.dirty where now - (s.lastSent[key] ?? 0) >= 1 / maxPerSecond {
                due.append(s.latest[key]!)
                s.lastSent[key] = now
                s.dirty.remove(key)
            }
            return (due, Array(s.clients.values))
        }
        for item in due {
            let bytes = ByteBuffer(bytes: event(item.frame, publishedMs: item.publishedMs))
            for client in clients { client.yield(bytes) }
        }
    }

    /// The SSE body of one page: the latest frame of every stream at once, then updates. Once
    /// the service has stopped, the body ends at once (the HTTP server is not kept waiting).
    func subscribe() -> AsyncStream<ByteBuffer> {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let registered = update { s -> (id: Int, snapshot: [(frame: PublishedFrame, publishedMs: Int)])? in
            guard !s.stopped else { return nil }
            let id = s.nextClient
            s.nextClient += 1
            s.clients[id] = continuation
            return (id, Array(s.latest.values))
        }
        guard let (id, snapshot) = registered else {
            continuation.finish()
            return stream
        }
        // Called by `finish()` and when the page goes away; never while `lock` is held here.
        continuation.onTermination = { [weak self] _ in self?.update { _ = $0.clients.removeValue(forKey: id) } }
        continuation.yield(ByteBuffer(bytes: Array(": lpnd live view\n\n".utf8)))
        for item in snapshot { continuation.yield(ByteBuffer(bytes: event(item.frame, publishedMs: item.publishedMs))) }
        return stream
    }

    /// Rate-limited frames still pending, and the queues once a second.
    func run() async throws {
        var tick = 0
        while !Task.isShuttingDownGracefully {
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
            flush()
            tick += 1
            if tick % 4 == 0, clientCount > 0 { broadcast(statsEvent()) }
        }
        // Ends every page's stream, so the HTTP server (stopped after this service) has no
        // response left to wait for. `finish()` runs the stream's termination handler, which
        // takes `lock`: it is called with the lock released.
        let open = update { s -> [AsyncStream<ByteBuffer>.Continuation] in
            s.stopped = true
            return Array(s.clients.values)
        }
        for client in open { client.finish() }
    }

    /// The stats reply of the control socket (docs/PROTOCOL.md §6), as an SSE event.
    private func statsEvent() -> [UInt8] {
        Array("event: stats\ndata: ".utf8) + JSONWriter.bytes(daemon.stats) + Array("\n\n".utf8)
    }

    private func broadcast(_ event: [UInt8]) {
        for client in update({ Array($0.clients.values) }) { client.yield(ByteBuffer(bytes: event)) }
    }

    private func jsonString(_ text: String) -> [UInt8] { JSONWriter.bytes(text) }

    private func update<R>(_ body: (inout State) -> R) -> R {
        state.withLock(body)
    }
}

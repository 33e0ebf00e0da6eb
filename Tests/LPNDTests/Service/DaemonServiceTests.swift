import Foundation
import Streaming
import StreamingTestSupport
import Testing

/// `lpnd run` as a service: the HTTP endpoint (/metrics moving with traffic, /healthz,
/// /readyz) and the systemd watchdog cycle on a fake notify socket.
@Suite(.serialized) struct DaemonServiceTests {
    /// A TCP port that was free a moment ago (the daemon binds it next).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A TCP connection to the loopback port (reads time out after 10 s), or nil.
    static func connect(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// GET on loopback with a plain socket: (status code, body); nil when nothing answers.
    static func get(_ port: Int, _ path: String) -> (status: Int, body: String)? {
        guard let fd = connect(port) else { return nil }
        defer { close(fd) }
        let request = Array("GET /\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let status = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// The value of one sample line (`name{labels} value`) in Prometheus text.
    static func sample(_ metrics: String, _ prefix: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    @Test func metricsMoveWithTrafficAndHealthAndReadinessAnswer() throws {
        let port = Self.freePort()
        let daemon = try DaemonProcessTests.startDaemon(http: "127.0.0.1:\(port)")
        #expect(eventually { Self.get(port, "readyz")?.status == 200 })
        #expect(Self.get(port, "healthz")?.status == 200)
        let before = try #require(Self.get(port, "metrics"))
        #expect(before.status == 200)
        #expect(Self.sample(before.body, "lpnd_frames_total{pipeline=\"test-mri\"}") == 0)

        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        for input in try DaemonProcessTests.measurements(3) { try peer.sender.send(input.parts) }
        try peer.sender.send([Array("not json".utf8), []])
        #expect(try peer.collect(7, timeout: 60).count == 7)  // 3 frames, 3 diagnostics, 1 error

        let after = try #require(Self.get(port, "metrics")).body
        #expect(Self.sample(after, "lpnd_frames_total{pipeline=\"test-mri\"}") == 3)
        #expect(Self.sample(after, "lpnd_errors_total{pipeline=\"test-mri\",code=\"malformed_header\"}") == 1)
        #expect(Self.sample(after, "lpnd_frame_latency_seconds_count{pipeline=\"test-mri\"}") == 3)
        #expect(Self.sample(after, "lpnd_iterations_count{pipeline=\"test-mri\"}") == 3)
        #expect((Self.sample(after, "lpnd_prox_seconds_sum{pipeline=\"test-mri\"}") ?? 0) > 0)
        #expect(Self.sample(after, "lpnd_queue_capacity{pipeline=\"test-mri\",stage=\"reconstruct\"}") == 4)
        #expect((Self.sample(after, "lpnd_messages_received_total{pipeline=\"test-mri\"}") ?? 0) >= 4)
        let (status, _) = daemon.stop()
        #expect(status == 0)
    }

    @Test func watchdogPingsStopWhileAReconstructionIsStuckAndResume() throws {
        let notify = NotifySocket()
        // Watchdog period 0.4 s (pings every 0.2 s); a frame of the stalling pipeline takes
        // seconds, longer than the 1 s stall timeout, so it counts as stuck while it runs.
        let stalling = DaemonProcessTests.root + "/Fixtures/stalling-tv.yaml"
        let daemon = try DaemonProcessTests.startDaemon(
            pipeline: stalling, extra: "stall_timeout: 1",
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        #expect(notify.waitFor { $0.hasPrefix("READY=1") } != nil)
        #expect(notify.waitFor { $0.hasPrefix("WATCHDOG=1") } != nil, "pings while idle")
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let input = try DaemonProcessTests.measurements(1, pipeline: stalling)[0]
        try peer.sender.send(input.parts)
        #expect(notify.waitFor { $0.contains("STATUS=stalled") && !$0.contains("WATCHDOG=1") } != nil, "pings stop while stuck")
        #expect(try peer.collect(2, timeout: 60).count == 2)
        #expect(notify.waitFor { $0.hasPrefix("WATCHDOG=1") && $0.contains("frames/s") } != nil, "pings resume with progress")
        let (status, log) = daemon.stop()
        #expect(status == 0)
        #expect(log.contains("stalled"), "\(log)")
    }

    /// A dynamic stream with per-frame lines into a warm-starting pipeline: `lpnd send
    /// --publish` reports every frame reconstructed with its rate, and the daemon's stats and
    /// /metrics carry the stream's frames/s and latency percentiles.
    @Test func aDynamicStreamsRateAndLatencyAreReported() throws {
        let port = Self.freePort()
        let daemon = try DaemonProcessTests.startDaemon(pipeline: DaemonProcessTests.root + "/Fixtures/tv-mri-stream.yaml",
                                                        http: "127.0.0.1:\(port)")
        let (status, output) = try SendConfirmationTests.send(
            ["--pipeline", DaemonProcessTests.root + "/Fixtures/tv-mri-stream.yaml", "--endpoint", daemon.ingest, "--count", "12",
             "--dynamic", "--sampling", "interleaved", "--stream", "heart", "--publish", daemon.publish])
        #expect(status == 0, "\(output)")
        #expect(output.contains("the daemon answered: 12 reconstructed") && output.contains("frames/s")
                && output.contains("mean PSNR"), "\(output)")
        let stats = try #require(try DaemonProcessTests.stats(daemon))
        let streams = try #require(stats.pipelines.first).streams
        let heart = try #require(streams.first { $0.stream == "heart" }, "\(streams)")
        #expect(heart.frames == 12)
        #expect(heart.framesPerSecond > 0)
        #expect(heart.latencyP50Ms != nil && heart.latencyP99Ms != nil)
        let metrics = try #require(Self.get(port, "metrics")).body
        #expect((Self.sample(metrics, "lpnd_stream_frames_per_second{pipeline=\"test-mri\",stream=\"heart\"}") ?? 0) > 0, "\(metrics)")
        #expect((Self.sample(metrics, "lpnd_stream_latency_p99_seconds{pipeline=\"test-mri\",stream=\"heart\"}") ?? 0) > 0)
        let (stopStatus, _) = daemon.stop()
        #expect(stopStatus == 0)
    }
}

import Foundation
import Streaming
import StreamingTestSupport
import Testing
import Support

/// `lpnd run` and `lpnd demo` stop while a browser holds the live view's event stream open:
/// the services stop in an order that ends the stream before the HTTP server waits for it, and
/// the live view never takes its own lock twice.
@Suite(.serialized) struct LiveViewStopTests {
    /// An open `GET /live` on loopback (a page's EventSource), once its first bytes arrived.
    final class OpenStream {
        let fd: Int32

        init?(port: Int, timeout: Double = 30) {
            let deadline = MonotonicClock.seconds() + timeout
            var connected = DaemonServiceTests.connect(port)
            while connected == nil && MonotonicClock.seconds() < deadline {
                usleep(20_000)  // the server is not listening yet: retry interval
                connected = DaemonServiceTests.connect(port)
            }
            guard let connected else { return nil }
            fd = connected
            let request = Array("GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".utf8)
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            guard send(fd, request, request.count, 0) == request.count else { return nil }
            while !String(decoding: received, as: UTF8.self).contains("lpnd live view") && MonotonicClock.seconds() < deadline {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return nil }
                received += buffer[0..<n]
            }
        }

        deinit { close(fd) }
    }

    /// Waits up to `seconds` for the process to end; kills it (and returns false) otherwise.
    static func ends(_ process: Process, within seconds: Double) -> Bool {
        let deadline = MonotonicClock.seconds() + seconds
        while process.isRunning && MonotonicClock.seconds() < deadline { usleep(10_000) }  // poll interval; isRunning decides
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        return true
    }

    @Test func runExitsOnSIGTERMWithTheLiveStreamOpen() throws {
        for run in 0..<10 {
            let port = DaemonServiceTests.freePort()
            let daemon = try DaemonProcessTests.startDaemon(drainTimeout: 2, http: "127.0.0.1:\(port)")
            let page = try #require(OpenStream(port: port), "run \(run): /live did not open")
            kill(daemon.process.processIdentifier, SIGTERM)
            let ended = Self.ends(daemon.process, within: 2 + 8)
            let log = String(decoding: daemon.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(ended, "run \(run): still running 8 s after the drain deadline with /live open; log: \(log)")
            #expect(daemon.process.terminationReason == .exit && daemon.process.terminationStatus == 0, "run \(run): \(log)")
            withExtendedLifetime(page) {}
        }
    }

    @Test func demoExitsWithTheLiveStreamOpen() throws {
        let output = NSTemporaryDirectory() + "lpnd-demo-live-" + UUID().uuidString.prefix(8)
        for run in 0..<2 {
            let port = DaemonServiceTests.freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: DaemonProcessTests.executable)
            // One frame of a pipeline that takes seconds: the page is open before the demo ends.
            process.arguments = ["demo", "--pipeline", DaemonProcessTests.root + "/Fixtures/stalling-tv.yaml", "--frames", "1",
                                 "--output", output, "--http", "127.0.0.1:\(port)"]
            let stdout = Pipe()
            process.standardOutput = stdout
            try process.run()
            let page = try #require(OpenStream(port: port), "run \(run): /live did not open")
            let ended = Self.ends(process, within: 90)
            let text = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(ended, "run \(run): the demo did not end with /live open; output: \(text)")
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "run \(run): \(text)")
            #expect(text.contains("received 1 frames"), "\(text)")
            withExtendedLifetime(page) {}
        }
    }
}

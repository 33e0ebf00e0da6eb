import Foundation
import Streaming
import StreamingTestSupport
import Support
import Testing

/// Stopping and signalling the `lpnd` process: a stop at the drain deadline with frames still
/// inside the LPN engine must end with status 0 every time; SIGHUP (a reload) must not lose anything.
@Suite(.serialized) struct DaemonStopTests {
    /// The shipped LPN pipeline without its `check`: what is tested here is the stop, and a
    /// checked first frame would add 2K reconstructions to each of the runs.
    static let lpnPipeline: String = {
        let shipped = DaemonProcessTests.root + "/../../pipelines/mri-4x.yaml"
        let text = try! String(contentsOfFile: shipped, encoding: .utf8)
        var kept: [Substring] = [], inCheck = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("check:") { inCheck = true; continue }
            if inCheck, line.hasPrefix(" ") { continue }
            inCheck = false
            kept.append(line)
        }
        let models = URL(fileURLWithPath: DaemonProcessTests.root + "/../../models").standardized.path
        let path = NSTemporaryDirectory() + "lpnd-stop-\(UUID().uuidString).yaml"
        FileManager.default.createFile(atPath: path, contents: Data(kept.joined(separator: "\n")
            .replacingOccurrences(of: "../models", with: models).utf8))
        return path
    }()

    @Test func stopAtTheDrainDeadlineWithFramesInTheEngineNeverCrashes() throws {
        let inputs = try DaemonProcessTests.measurements(8, pipeline: Self.lpnPipeline)
        var drainTimeouts = 0
        for run in 0..<10 {
            let daemon = try DaemonProcessTests.startDaemon(pipeline: Self.lpnPipeline, inbox: 8, drainTimeout: 0.2)
            let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
            #expect(try peer.handshake())
            for input in inputs { try peer.sender.send(input.parts) }
            // Two frames out (each with its diagnostics), the rest queued or on the worker.
            let early = try peer.collect(4, timeout: 60)
            #expect(early.filter { $0.kind == "frame" }.count == 2, "run \(run): \(early.map(\.topic))")
            let (status, log) = daemon.stop(signal: SIGTERM)
            #expect(daemon.process.terminationReason == .exit && status == 0,
                    "run \(run): ended by \(daemon.process.terminationReason == .exit ? "exit" : "signal") \(status); log: \(log)")
            let rest = try peer.collect(inputs.count * 2, timeout: 2)
            let outputs = early + rest
            let frames = outputs.filter { $0.kind == "frame" }.compactMap(\.seq)
            let errors = outputs.filter { $0.kind == "error" }
            // Every message ends as one frame or one drain_timeout event, in order.
            #expect(errors.allSatisfy { $0.code == "drain_timeout" }, "run \(run): \(errors.map(\.code))")
            #expect((frames + errors.compactMap(\.seq)).sorted() == (0..<UInt64(inputs.count)).map { $0 }, "run \(run)")
            #expect(!log.contains("did not stop"), "run \(run): \(log)")
            drainTimeouts += errors.count
        }
        #expect(drainTimeouts > 0, "the stops should have met frames still reconstructing")
    }

    @Test func sighupReloadsWithoutLosingAnything() throws {
        let daemon = try DaemonProcessTests.startDaemon(inbox: 8)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let inputs = try DaemonProcessTests.measurements(6)
        for (i, input) in inputs.enumerated() {
            try peer.sender.send(input.parts)
            if i == 2 { kill(daemon.process.processIdentifier, SIGHUP) }
        }
        let frames = try peer.collect(12, timeout: 60).filter { $0.kind == "frame" }
        #expect(frames.compactMap(\.seq) == (0..<6).map { UInt64($0) })
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(try DaemonProcessTests.stats(daemon) != nil, "still serving after SIGHUP")
        let (status, log) = daemon.stop()
        #expect(status == 0)
        #expect(log.contains("reloaded"), "\(log)")
    }

    /// Full inboxes (the ingest thread waits for room, the decoder too) and a frame that would
    /// run for minutes: SIGTERM still ends within the drain timeout plus one iteration.
    @Test func stopWithFullInboxesEndsAtTheDrainDeadline() throws {
        let slow = DaemonProcessTests.root + "/Fixtures/slow-tv.yaml"
        let daemon = try DaemonProcessTests.startDaemon(pipeline: slow, inbox: 1, drainTimeout: 1)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let pings = (try DaemonProcessTests.received(daemon))
        for input in try DaemonProcessTests.measurements(8) { _ = try peer.sender.send(input.parts, dontWait: true) }
        // 1 reconstructing, 1 in each inbox, 1 held by the waiting ingest thread.
        #expect(eventually { ((try? DaemonProcessTests.received(daemon)) ?? 0) - pings >= 4 })
        let started = MonotonicClock.seconds()
        let (status, log) = daemon.stop(signal: SIGTERM)
        let seconds = MonotonicClock.seconds() - started
        #expect(status == 0)
        #expect(seconds < 8, "stopped after \(seconds) s with drain_timeout 1 s")
        let counts = try #require(DaemonProcessTests.summary(log), "no summary line in log: \(log)")
        #expect(counts.received == counts.frames + counts.errors + counts.pings, "\(counts)")
        let errors = try peer.collect(counts.errors, timeout: 5).filter { $0.code == "drain_timeout" }
        #expect(errors.count >= 4)
    }

    /// A subscriber that connects and never reads (one-message queue, 4 KiB socket buffer): what
    /// the daemon publishes to it stays unsent, and SIGTERM still ends with status 0 within the
    /// drain timeout, the linger (2 s, the default) and the joins' deadlines.
    @Test func stopWithASubscriberThatNeverReadsEndsWithinItsDeadline() throws {
        let daemon = try DaemonProcessTests.startDaemon(inbox: 8, drainTimeout: 2)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        let stalled = try ZMQSocket(context: peer.context, kind: .sub)
        try stalled.setOption(ZMQ_RCVHWM_, 1)
        try stalled.setOption(ZMQ_RCVBUF_, 4096)
        try stalled.subscribe("")
        try stalled.connect(daemon.publish)
        defer { stalled.close(linger: 0) }
        #expect(try peer.handshake())
        let inputs = try DaemonProcessTests.measurements(12)
        for input in inputs { try peer.sender.send(input.parts) }
        // Every frame and its diagnostics published (the reader that does read got them).
        let outputs = try peer.collect(2 * inputs.count, timeout: 60)
        #expect(outputs.filter { $0.kind == "frame" }.count == inputs.count)
        let started = MonotonicClock.seconds()
        let (status, log) = daemon.stop(signal: SIGTERM)
        let seconds = MonotonicClock.seconds() - started
        #expect(daemon.process.terminationReason == .exit && status == 0, "log: \(log)")
        #expect(seconds < 2 + 2 + 5, "stopped after \(seconds) s (drain 2 s, linger 2 s, joins 5 s)")
        #expect(!log.contains("did not end"), "\(log)")
    }
}

import Foundation
import Streaming
import StreamingTestSupport
import Testing
import Support

@Suite(.serialized) struct DaemonTests {
    @Test func framesFlowEndToEndInOrderWithDiagnostics() throws {
        let backend = FakeBackend()
        let daemon = try makeDaemon([(backend, ingestConfig(workers: 2))])
        let runtime = daemon.pipelines[0]
        let peer = try TestPeer(ingest: runtime.endpoint, publish: daemon.publisher.endpoint)
        #expect(try peer.handshake())
        let n: UInt64 = 40
        for seq in 0..<n { #expect(try peer.sendFrame(seq: seq)) }
        let outputs = try peer.collect(Int(2 * n))
        let frames = outputs.filter { $0.kind == "frame" }
        let diagnostics = outputs.filter { $0.kind == "diagnostics" }
        #expect(frames.count == Int(n) && diagnostics.count == Int(n))
        #expect(frames.map(\.seq) == (0..<n).map { Optional($0) }, "frames out of order")
        for frame in frames {
            let seq = Float(frame.seq!)
            #expect(frame.image == (0..<16).map { 2 * (seq + Float($0) / 100) })
            #expect(frame.parts.count == 4, "PNG part missing")
            #expect(frame.parts[3].starts(with: [0x89, 0x50, 0x4E, 0x47]))
            let header = try #require(frame.header)
            #expect(header.convergence.iterations == 3)
            // The frame header carries the processor's flags and prior statistics.
            #expect(header.flags == (frame.seq! % 2 == 1 ? ["outside_prior"] : []))
            #expect(header.prior?.phiRange == [-0.2, -0.05] && header.prior?.displacement == 0.02)
            // and, on checked frames only, the cross-validation against the TV reference
            #expect((header.check != nil) == (frame.seq! % 4 == 0))
            if let check = header.check {
                #expect(check.differenceDB == -1.5 && check.folds == 4 && check.marginDB == 0)
                #expect(check.priorError == 1e-4 && check.referenceError == 1.4e-4)
            }
        }
        #expect(diagnostics.allSatisfy { $0.diagnosticsRecord?["iterations"] as? Int == 3 })
        daemon.shutdown()
    }

    @Test func workersFinishingOutOfOrderStillPublishInOrder() throws {
        // Two workers; seq 0 is held at the gate while seq 1…9 finish on the other worker.
        let backend = FakeBackend(gated: true)
        let daemon = try makeDaemon([(backend, ingestConfig(inbox: 16, reconstructInbox: 16, workers: 2))])
        let peer = try TestPeer(ingest: daemon.pipelines[0].endpoint, publish: daemon.publisher.endpoint)
        #expect(try peer.handshake())
        for seq in 0..<2 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        #expect(backend.started.wait(for: 2))   // both workers hold a frame now
        for seq in 2..<10 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        backend.gate.open()
        let frames = try peer.collect(20).filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == (0..<10).map { Optional(UInt64($0)) })
        daemon.shutdown()
    }

    @Test func pullBackpressureBlocksTheSenderAndLosesNothing() throws {
        let backend = FakeBackend(gated: true)
        let config = ingestConfig(inbox: 2, reconstructInbox: 2, workers: 1)
        let daemon = try makeDaemon([(backend, config)])
        let runtime = daemon.pipelines[0]
        let peer = try TestPeer(ingest: runtime.endpoint, publish: daemon.publisher.endpoint, senderHighWaterMark: 1)
        #expect(try peer.handshake())
        // Send without blocking until ZeroMQ refuses: the daemon has stopped reading.
        var sent: UInt64 = 0
        var refused = false
        let deadline = MonotonicClock.seconds() + 20
        while MonotonicClock.seconds() < deadline {
            if try peer.sendFrame(seq: sent, dontWait: true) { sent += 1 } else if runtime.stats.stages[0].depth == config.inbox { refused = true; break }
        }
        #expect(refused, "the sender was never pushed back")
        let stats = runtime.stats
        // Memory bounded: nothing queued beyond the inboxes (+1 frame held by the worker,
        // +1 held by the decoder waiting to hand over, +socket high-water marks).
        #expect(stats.stages.allSatisfy { $0.maxDepth <= $0.capacity })
        #expect(stats.received - probes(stats) <= config.inbox + config.reconstructInbox + 2 + 1)
        #expect(sent < 100, "sent \(sent) messages into a stalled pipeline")
        backend.gate.open()
        let frames = try peer.collect(Int(2 * sent)).filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == (0..<sent).map { Optional($0) }, "frames lost or reordered")
        daemon.shutdown()
    }

    @Test(arguments: [BoundedStage<RawMessage>.DropPolicy.dropNewest, .dropOldest])
    func subscriberDropsAreCountedExactly(policy: BoundedStage<RawMessage>.DropPolicy) throws {
        let backend = FakeBackend(gated: true)
        let config = ingestConfig(.sub, inbox: 3, reconstructInbox: 2, workers: 1, policy: policy)
        let daemon = try makeDaemon([(backend, config)])
        let runtime = daemon.pipelines[0]
        let peer = try TestPeer(ingest: runtime.endpoint, publish: daemon.publisher.endpoint, senderKind: .pub)
        #expect(try peer.handshake())
        #expect(try peer.sendFrame(seq: 0))
        #expect(backend.started.wait(for: 1))  // the worker holds seq 0
        // Fill the reconstruction inbox (2) and the frame the decoder holds (1) in order.
        for seq in 1...3 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        // All four read from the socket (else seq 3 may still be on its way and land in the decode
        // inbox with the next burst), two in the reconstruction inbox, none in the decode inbox.
        #expect(eventually {
            let stats = runtime.stats
            return stats.received - probes(stats) == 4 && stats.stages[1].depth == 2 && stats.stages[0].depth == 0
        })
        // Now only the decode inbox (3) is left: 10 more messages → 7 drops.
        for seq in 4..<14 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        let drops = try peer.collect(7).filter { $0.code == "dropped" }
        #expect(drops.count == 7)
        let droppedSeqs = Set(drops.compactMap(\.seq))
        #expect(droppedSeqs == (policy == .dropNewest ? Set(7..<14) : Set(4..<11)))
        #expect(runtime.stats.dropped == 7)
        backend.gate.open()
        let frames = try peer.collect(2 * 7).filter { $0.kind == "frame" }
        let kept = Set(0..<14).subtracting(droppedSeqs).sorted()
        #expect(frames.map(\.seq) == kept.map { Optional(UInt64($0)) })
        let stats = daemon.shutdown().pipelines[0]
        #expect(stats.received - probes(stats) == 14 && stats.frames == 7 && stats.dropped == 7)
    }

    @Test func malformedMessagesBecomeErrorEventsWhileGoodFramesFlow() throws {
        let backend = FakeBackend(failing: [5])
        let daemon = try makeDaemon([(backend, ingestConfig())])
        let peer = try TestPeer(ingest: daemon.pipelines[0].endpoint, publish: daemon.publisher.endpoint)
        #expect(try peer.handshake())
        let good = { (seq: UInt64) in try peer.sender.send([TestPeer.header(seq: seq), TestPeer.payload(seq: seq)]) }
        var nan = TestPeer.payload(seq: 0)
        withUnsafeBytes(of: Float.nan) { for i in 0..<4 { nan[4 + i] = $0[i] } }
        let bad: [(String, [[UInt8]])] = [
            ("malformed_header", [Array("not json".utf8), TestPeer.payload(seq: 0)]),
            ("unsupported_version", [Array("{\"lpnd\":99,\"stream\":\"s0\",\"seq\":101}".utf8), TestPeer.payload(seq: 0)]),
            ("unknown_pipeline", [TestPeer.header(seq: 102, pipeline: "nope"), TestPeer.payload(seq: 0)]),
            ("shape_mismatch", [TestPeer.header(seq: 103, shape: [5, 5]), TestPeer.payload(seq: 0, count: 25)]),
            ("payload_size", [TestPeer.header(seq: 104), TestPeer.payload(seq: 0, count: 15)]),
            ("non_finite", [TestPeer.header(seq: 105), nan]),
            ("malformed_message", [TestPeer.header(seq: 106)]),
            ("malformed_message", [TestPeer.header(seq: 107, reference: true), TestPeer.payload(seq: 0)]),
        ]
        try good(0)
        for (_, parts) in bad { try peer.sender.send(parts) }
        for seq in 1...9 { try good(UInt64(seq)) }
        let outputs = try peer.collect(bad.count + 9 + 10)
        let errors = outputs.filter { $0.kind == "error" }
        #expect(errors.map(\.code).sorted { ($0 ?? "") < ($1 ?? "") }
                == (bad.map(\.0) + ["diverged"]).sorted().map { Optional($0) })
        #expect(errors.first { $0.code == "diverged" }?.seq == 5)
        #expect(errors.first { $0.code == "unsupported_version" }?.seq == 101)
        let frames = outputs.filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == [0, 1, 2, 3, 4, 6, 7, 8, 9].map { Optional(UInt64($0)) })
        let stats = daemon.shutdown().pipelines[0]
        #expect(stats.received == stats.frames + stats.errors + stats.pings)
    }

    @Test func shutdownFinishesEverythingAccepted() throws {
        let backend = FakeBackend(gated: true)
        let daemon = try makeDaemon([(backend, ingestConfig(inbox: 8, reconstructInbox: 8))])
        let runtime = daemon.pipelines[0]
        let peer = try TestPeer(ingest: runtime.endpoint, publish: daemon.publisher.endpoint)
        #expect(try peer.handshake())
        for seq in 0..<6 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        #expect(eventually { runtime.stats.stages[1].accepted == 6 })
        // Shut down while frames are queued and one is held at the gate; open the gate only
        // once the shutdown has begun, so the drain has real work to finish.
        final class Box: @unchecked Sendable { var stats: DaemonStats? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { box.stats = daemon.shutdown(); done.signal() }
        #expect(eventually { daemon.isStopping })
        backend.gate.open()
        done.wait()
        let stats = box.stats!.pipelines[0]
        #expect(stats.received - probes(stats) == 6 && stats.frames == 6 && stats.errors == 0)
        let frames = try peer.collect(12, timeout: 5).filter { $0.kind == "frame" }
        #expect(frames.count == 6)
    }

    @Test func drainTimeoutReportsUnfinishedFramesAsErrors() throws {
        let backend = FakeBackend(gated: true)
        let daemon = try makeDaemon([(backend, ingestConfig(inbox: 2, reconstructInbox: 2))], drainTimeout: 0.3)
        let runtime = daemon.pipelines[0]
        let peer = try TestPeer(ingest: runtime.endpoint, publish: daemon.publisher.endpoint)
        #expect(try peer.handshake())
        // 1 on the worker, 2 in the reconstruction inbox, 1 held by the decoder, 1 in the
        // decode inbox: every stage has something left when the drain times out.
        for seq in 0..<5 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        #expect(eventually { runtime.stats.stages[0].depth == 1 && runtime.stats.stages[1].depth == 2 })
        let stats = daemon.shutdown().pipelines[0]
        backend.gate.open()
        #expect(stats.received - probes(stats) == 5 && stats.frames == 0 && stats.errorCodes["drain_timeout"] == 5)
        let errors = try peer.collect(5, timeout: 5).filter { $0.code == "drain_timeout" }
        #expect(errors.compactMap(\.seq).sorted() == [0, 1, 2, 3, 4])
    }

    @Test func twoPipelinesRunSideBySide() throws {
        let a = FakeBackend(name: "alpha"), b = FakeBackend(name: "beta")
        let daemon = try makeDaemon([(a, ingestConfig()), (b, ingestConfig())])
        #expect(daemon.pipelines.map(\.interface.name) == ["alpha", "beta"])
        let peerA = try TestPeer(ingest: daemon.pipeline(named: "alpha")!.endpoint, publish: daemon.publisher.endpoint)
        let peerB = try TestPeer(ingest: daemon.pipeline(named: "beta")!.endpoint, publish: daemon.publisher.endpoint)
        #expect(try peerA.handshake())
        #expect(try peerB.handshake())
        for seq in 0..<5 {
            #expect(try peerA.sendFrame(seq: UInt64(seq), stream: "a", pipeline: "alpha"))
            #expect(try peerB.sendFrame(seq: UInt64(seq), stream: "b", pipeline: "beta"))
        }
        // Each listener sees every output; pongs of the other peer are filtered by stream.
        let outputs = try peerA.collect(20).filter { $0.kind == "frame" }
        #expect(outputs.filter { $0.stream == "a" }.map(\.seq) == (0..<5).map { Optional(UInt64($0)) })
        #expect(outputs.filter { $0.stream == "b" }.map(\.seq) == (0..<5).map { Optional(UInt64($0)) })
        daemon.shutdown()
    }

    @Test func aSocketThatCannotOpenStopsTheStartAndNamesItsKey() throws {
        var bad = ingestConfig()
        bad.endpoint = "nonsense://nowhere"
        #expect {
            try makeDaemon([(FakeBackend(name: "alpha"), ingestConfig()), (FakeBackend(name: "broken"), bad)])
        } throws: { error in
            (error as? SocketSetupError)?.key == "pipelines[1].ingest.endpoint"
                && "\(error)".contains("nonsense://nowhere")
        }
        // The same publish endpoint twice: the second daemon cannot bind it.
        let first = try makeDaemon([(FakeBackend(), ingestConfig())])
        #expect {
            try Daemon(settings: Daemon.Settings(publishEndpoint: first.publisher.endpoint),
                       pipelines: [Daemon.PipelineSpec(backend: FakeBackend(), configuration: ingestConfig())])
        } throws: { error in
            (error as? SocketSetupError)?.key == "publish" && "\(error)".contains("Address already in use")
        }
        first.shutdown()
    }

    @Test func statsAreServedOnTheControlSocket() throws {
        let daemon = try makeDaemon([(FakeBackend(), ingestConfig())])
        let context = ZMQContext()
        let request = try ZMQSocket(context: context, kind: .req)
        try request.connect(daemon.controlEndpoint!)
        try request.send([Array("stats".utf8)])
        let reply = try request.receive()!
        let stats = try OutboundDecoder.stats(reply[0])
        #expect(stats.pipelines.first?.pipeline == "fake")
        #expect(stats.pipelines.first?.stages.count == 3)
        request.close(linger: 0)
        context.terminate()
        daemon.shutdown()
    }
}

/// Handshake pings: counted as received, answered with pongs.
func probes(_ stats: PipelineStats) -> Int { stats.pings }

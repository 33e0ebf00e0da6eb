import Foundation
import Streaming
import StreamingTestSupport
import Testing
import Support

/// Scale-out on ZeroMQ's own load balancing (docs/DEPLOY.md, "Scale-out"): one upstream PUSH
/// socket bound by the sender, two `lpnd run` instances connecting their PULL ingest to it, a
/// subscriber connected to both PUB sockets. Every frame is reconstructed exactly once, by
/// one instance or the other, and each stream's order is restored from seq.
@Suite(.serialized) struct DaemonFanOutTests {
    @Test func twoInstancesShareOneUpstreamAndReconstructEachFrameOnce() throws {
        let dir = NSTemporaryDirectory() + "lpnd-fan-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let upstream = "ipc://\(dir)/upstream"
        let context = ZMQContext()
        defer { context.terminate() }
        let push = try ZMQSocket(context: context, kind: .push)
        defer { push.close(linger: 0) }
        try push.setOption(ZMQ_SNDHWM_, 1000)
        try push.bind(upstream)
        let instances = try (0..<2).map { _ in
            try DaemonProcessTests.startDaemon(ingest: upstream, connect: true)
        }
        // One SUB per instance: a pong on each proves both instances take work and publish to us.
        let subscribers = try instances.map { instance in
            let sub = try ZMQSocket(context: context, kind: .sub)
            try sub.setOption(ZMQ_RCVHWM_, 100_000)
            try sub.subscribe("")
            try sub.connect(instance.publish)
            return sub
        }
        defer { for sub in subscribers { sub.close(linger: 0) } }
        var ponged = [false, false]
        var seq: UInt64 = 0
        let deadline = MonotonicClock.seconds() + 30
        while ponged.contains(false) && MonotonicClock.seconds() < deadline {
            try push.send(WireProtocol.pingMessage(seq: seq), dontWait: true)
            seq += 1
            for (i, sub) in subscribers.enumerated() where try sub.poll(timeoutMs: 10) {
                while let message = try sub.receive(dontWait: true) {
                    if String(decoding: message[0], as: UTF8.self).hasPrefix("pong/") { ponged[i] = true }
                }
            }
        }
        #expect(ponged == [true, true], "both instances connected")

        let inputs = try DaemonProcessTests.measurements(24)
        for input in inputs { try push.send(input.parts) }
        var frames: [[UInt64]] = [[], []]
        let collectDeadline = MonotonicClock.seconds() + 60
        while frames[0].count + frames[1].count < inputs.count && MonotonicClock.seconds() < collectDeadline {
            for (i, sub) in subscribers.enumerated() where try sub.poll(timeoutMs: 20) {
                while let message = try sub.receive(dontWait: true) {
                    let output = Output(message)
                    if output.kind == "frame", let s = output.seq { frames[i].append(s) }
                }
            }
        }
        #expect((frames[0] + frames[1]).sorted() == (0..<UInt64(inputs.count)).map { $0 }, "every frame exactly once")
        #expect(!frames[0].isEmpty && !frames[1].isEmpty, "both instances worked: \(frames[0].count) + \(frames[1].count)")
        // Each instance publishes its share in order.
        #expect(frames[0] == frames[0].sorted() && frames[1] == frames[1].sorted())
        for instance in instances {
            let (status, _) = instance.stop()
            #expect(status == 0)
        }
    }
}

import Foundation
import Streaming
import StreamingTestSupport
import Testing

/// The ingest socket's part limits (docs/PROTOCOL.md §1, "Limits"), with and without CURVE:
/// a part of the pipeline's largest valid size passes; a larger one, up to twice that, is read
/// and refused with an error event, and every message queued behind it on the same
/// connection still arrives.
@Suite struct PartLimitTests {
    static let server = try! CurveKeyPair.generate()
    static let client = try! CurveKeyPair.generate()
    /// 128×256 float32: a 131,072-byte measurement part, as `mri-4x`'s, above the 64 KiB header limit.
    static let shape = [128, 256]

    func daemon(curve: Bool) throws -> Daemon {
        let backend = FakeBackend(shape: Self.shape)
        let keys = curve ? Daemon.Curve(server: Self.server, clients: try CurveClientList.load(entries: [Self.client.publicKey])) : nil
        let settings = Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", curve: keys, logger: .quiet)
        return try Daemon(settings: settings,
                          pipelines: [Daemon.PipelineSpec(backend: backend, configuration: ingestConfig(inbox: 8, reconstructInbox: 8))])
    }

    func peer(_ daemon: Daemon, curve: Bool) throws -> TestPeer {
        try TestPeer(ingest: daemon.pipelines[0].endpoint, publish: daemon.publisher.endpoint) { socket in
            if curve { try socket.makeCurveClient(serverKey: Self.server.publicKey, keys: Self.client) }
        }
    }

    @Test(arguments: [false, true])
    func fullSizePartsPassAndOversizedOnesAreRefusedWithoutLosingWhatFollows(curve: Bool) throws {
        let daemon = try daemon(curve: curve)
        defer { daemon.shutdown() }
        let interface = daemon.pipelines[0].interface
        #expect(interface.maxPartBytes == 131_072)
        let peer = try peer(daemon, curve: curve)
        #expect(try peer.handshake())
        let count = Self.shape.reduce(1, *)
        // 100 full-size frames; before every 10th, one whose measurement part is too large:
        // by one byte, or at the read limit (twice the largest valid part).
        var oversized: [UInt64] = []
        for seq in 0..<UInt64(100) {
            if seq % 10 == 0 {
                let bad = 1000 + seq
                let size = seq % 20 == 0 ? interface.maxPartBytes + 1 : interface.maxReadPartBytes
                try peer.sender.send([TestPeer.header(seq: bad, shape: Self.shape), [UInt8](repeating: 0, count: size)])
                oversized.append(bad)
            }
            try peer.sender.send([TestPeer.header(seq: seq, shape: Self.shape), TestPeer.payload(seq: seq, count: count)])
        }
        let outputs = try peer.collect(210, timeout: 60)
        let frames = outputs.filter { $0.kind == "frame" }.compactMap(\.seq)
        let errors = outputs.filter { $0.kind == "error" }
        #expect(frames == (0..<100).map { UInt64($0) }, "every full-size frame, in order")
        #expect(errors.compactMap(\.seq) == oversized, "one error event per oversized message")
        #expect(errors.allSatisfy { $0.code == "payload_size" }, "\(errors.map(\.code))")
        let stats = daemon.stats.pipelines[0]
        #expect(stats.received - stats.pings == 110, "nothing lost: \(stats.received) received, \(stats.pings) pings")
    }

    /// Above the read limit libzmq closes the connection before reading the part (memory stays
    /// bounded); the sender reconnects by itself and the daemon goes on serving.
    @Test(arguments: [false, true])
    func aPartOverTheReadLimitClosesTheConnectionAndTheDaemonGoesOn(curve: Bool) throws {
        let daemon = try daemon(curve: curve)
        defer { daemon.shutdown() }
        let interface = daemon.pipelines[0].interface
        let peer = try peer(daemon, curve: curve)
        #expect(try peer.handshake())
        try peer.sender.send([TestPeer.header(seq: 0, shape: Self.shape), [UInt8](repeating: 0, count: interface.maxReadPartBytes + 1)])
        #expect(try peer.handshake(timeout: 30))
        let count = Self.shape.reduce(1, *)
        try peer.sender.send([TestPeer.header(seq: 1, shape: Self.shape), TestPeer.payload(seq: 1, count: count)])
        let outputs = try peer.collect(2, timeout: 30)
        #expect(outputs.filter { $0.kind == "frame" }.compactMap(\.seq) == [1])
        #expect(daemon.stats.pipelines[0].errors == 0, "the message over the read limit was never read")
    }
}

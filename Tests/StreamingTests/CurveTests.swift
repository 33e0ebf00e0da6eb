import Foundation
import Logging
import Streaming
import StreamingTestSupport
import Testing

/// CURVE on the daemon's sockets, on loopback: allowed clients send and receive; a sender or
/// subscriber with another key, or without CURVE, gets nothing through.
@Suite struct CurveTests {
    let server = try! CurveKeyPair.generate()
    let allowed = try! CurveKeyPair.generate()
    let stranger = try! CurveKeyPair.generate()

    func daemon() throws -> Daemon {
            let clients = try CurveClientList.load(entries: [allowed.publicKey])
        return try Daemon(settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", controlEndpoint: "tcp://127.0.0.1:*",
                                                    curve: Daemon.Curve(server: server, clients: clients), logger: .quiet),
                          pipelines: [Daemon.PipelineSpec(backend: FakeBackend(), configuration: ingestConfig())])
    }

    /// A PUSH sender and a SUB listener, CURVE clients with `keys` (nil: no CURVE).
    func peer(_ daemon: Daemon, sender senderKeys: CurveKeyPair?, listener listenerKeys: CurveKeyPair?) throws -> TestPeer {
        try TestPeer(ingest: daemon.pipelines[0].endpoint, publish: daemon.publisher.endpoint) { socket in
            let keys = socket.kind == .push ? senderKeys : listenerKeys
            if let keys { try socket.makeCurveClient(serverKey: server.publicKey, keys: keys) }
        }
    }

    @Test func allowedClientsSendAndReceive() throws {
        let daemon = try daemon()
        defer { daemon.shutdown() }
        let peer = try peer(daemon, sender: allowed, listener: allowed)
        #expect(try peer.handshake())
        for seq in 0..<3 { #expect(try peer.sendFrame(seq: UInt64(seq))) }
        let frames = try peer.collect(6).filter { $0.kind == "frame" }
        #expect(frames.compactMap(\.seq) == [0, 1, 2])
        #expect(daemon.authenticator!.counts.allowed >= 2)
    }

    @Test(arguments: [true, false])
    func aSenderWithoutAnAllowedKeyGetsNothingReconstructed(curveClient: Bool) throws {
        let daemon = try daemon()
        defer { daemon.shutdown() }
        let intruder = try peer(daemon, sender: curveClient ? stranger : nil, listener: allowed)
        for seq in 0..<3 { _ = try intruder.sendFrame(seq: UInt64(seq), stream: "intruder", dontWait: true) }
        if curveClient {
            // The handshake reaches the ZAP handler, which refuses it.
            #expect(eventually { daemon.authenticator!.counts.refused >= 1 })
        }
        // An allowed sender, afterwards: its frames come through, the intruder's never did.
        let friend = try peer(daemon, sender: allowed, listener: allowed)
        #expect(try friend.handshake())
        #expect(try friend.sendFrame(seq: 7, stream: "friend"))
        let outputs = try friend.collect(2)
        #expect(outputs.filter { $0.kind == "frame" }.compactMap(\.stream) == ["friend"])
        let stats = daemon.stats.pipelines[0]
        #expect(stats.received == stats.pings + 1, "only the friend's pings and frame were read")
    }

    @Test(arguments: [true, false])
    func aSubscriberWithoutAnAllowedKeyGetsNothing(curveClient: Bool) throws {
        let daemon = try daemon()
        defer { daemon.shutdown() }
        let eavesdropper = try peer(daemon, sender: allowed, listener: curveClient ? stranger : nil)
        if curveClient { #expect(eventually { daemon.authenticator!.counts.refused >= 1 }) }
        let friend = try peer(daemon, sender: allowed, listener: allowed)
        #expect(try friend.handshake())
        for seq in 0..<3 { #expect(try friend.sendFrame(seq: UInt64(seq))) }
        #expect(try friend.collect(6).count == 6)
        // Everything was published and the friend has it all; the eavesdropper has nothing queued.
        #expect(try eavesdropper.listener.receive(dontWait: true) == nil)
        #expect(try !eavesdropper.listener.poll(timeoutMs: 200))
    }

    @Test func keyFilesRoundTripAndMismatchesAreNamed() throws {
        let dir = NSTemporaryDirectory() + "lpnd-keys-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try server.write(base: dir + "/server")
        let loaded = try CurveKeyPair.load(secretFile: dir + "/server.key_secret")
        #expect(loaded.publicKey == server.publicKey && loaded.secretKey == server.secretKey)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/server.key_secret")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try CurveClientList.load(directory: dir).allows(CurveClientList.decode(server.publicKey)!))
        #expect(throws: CurveKeyError.self) { try CurveKeyPair.load(secretFile: dir + "/server.key") }
        var tampered = try String(contentsOfFile: dir + "/server.key_secret", encoding: .utf8)
        tampered = tampered.replacingOccurrences(of: server.publicKey, with: stranger.publicKey)
        try tampered.write(toFile: dir + "/bad.key_secret", atomically: true, encoding: .utf8)
        #expect { try CurveKeyPair.load(secretFile: dir + "/bad.key_secret") } throws: { "\($0)".contains("does not belong") }
    }
}

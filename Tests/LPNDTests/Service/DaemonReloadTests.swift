import Foundation
import Streaming
import StreamingTestSupport
import Testing

/// SIGHUP reloads: under load nothing is lost and outputs name the generation that made them;
/// an invalid file or a change that needs new sockets is rejected and the old one serves on.
@Suite(.serialized) struct DaemonReloadTests {
    static func generation(_ output: Output) -> Int? { output.generation }

    @Test func reloadUnderLoadLosesNothingAndInvalidReloadsAreRejected() throws {
        let dir = NSTemporaryDirectory() + "lpnd-reload-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pipeline = dir + "/p.yaml"
        let original = try String(contentsOfFile: DaemonProcessTests.pipelinePath, encoding: .utf8)
        try original.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let notify = NotifySocket()
        let daemon = try DaemonProcessTests.startDaemon(pipeline: pipeline, inbox: 8, environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.waitFor("READY=1") != nil)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let inputs = try DaemonProcessTests.measurements(45)

        // Generation 2: at most 3 iterations. The reload lands while frames stream in.
        try original.replacingOccurrences(of: "iterations: 10", with: "iterations: 3").write(toFile: pipeline, atomically: true, encoding: .utf8)
        for input in inputs[0..<20] { try peer.sender.send(input.parts) }
        let first = try peer.collect(2, timeout: 60)  // one frame of generation 1 is out; the rest stream on
        kill(daemon.process.processIdentifier, SIGHUP)
        for input in inputs[20..<40] { try peer.sender.send(input.parts) }
        #expect(notify.waitFor("STATUS=reloaded") != nil)
        for input in inputs[40..<45] { try peer.sender.send(input.parts) }
        let frames = (first + (try peer.collect(90 - first.count, timeout: 60))).filter { $0.kind == "frame" }
        #expect(frames.compactMap(\.seq) == (0..<45).map { UInt64($0) }, "every frame, in order")
        let generations = frames.compactMap(Self.generation)
        #expect(generations.count == 45 && generations == generations.sorted(), "generations never go back: \(generations)")
        #expect(generations.first == 1 && generations.suffix(5) == [2, 2, 2, 2, 2])
        for frame in frames where Self.generation(frame) == 2 {
            let iterations = frame.header?.convergence.iterations ?? 99
            #expect(iterations <= 3, "generation 2 runs the new pipeline file")
        }

        // An invalid pipeline file: rejected, generation 2 keeps serving.
        try "name: test-mri\nsolver: {type: nonsense}\n".write(toFile: pipeline, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(notify.waitFor("STATUS=reload rejected")?.contains("p.yaml") == true)
        // A daemon-level change that needs new sockets: rejected, naming the key.
        let configPath = (daemon.process.arguments ?? []).last ?? ""
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "publish: ", with: "publish: ipc:///nonexistent/x\n#").write(toFile: configPath, atomically: true, encoding: .utf8)
        try original.write(toFile: pipeline, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(notify.waitFor("STATUS=reload rejected")?.contains("'publish'") == true)
        try peer.sender.send(inputs[0].parts)
        let after = try peer.collect(2, timeout: 30).filter { $0.kind == "frame" }
        #expect(after.map(Self.generation) == [2])
        let stats = try #require(try DaemonProcessTests.stats(daemon))
        #expect(stats.generation == 2)
        let (status, log) = daemon.stop()
        #expect(status == 0)
        #expect(log.contains("reload rejected") && log.contains("reloaded"), "\(log)")
    }
}

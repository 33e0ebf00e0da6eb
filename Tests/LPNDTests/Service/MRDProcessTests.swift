import Foundation
import Streaming
import StreamingTestSupport
import Testing
import Support

/// An MRD file made by the ISMRMRD tools streams through `lpnd send --mrd` into a running
/// daemon and comes out as reconstructed frames; a file that does not fit the pipeline comes
/// out as an error event. Needs Debian's ismrmrd-tools (`make test` installs it).
@Suite(.serialized) struct MRDProcessTests {
    static let pipeline = DaemonProcessTests.root + "/Fixtures/mrd-tv.yaml"
    /// ismrmrd-tools' phantom generator, found on PATH.
    static let generator: String = {
        let name = "ismrmrd_generate_cartesian_shepp_logan"
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? name
    }()

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    static func generate(_ path: String, coils: Int) throws {
        let (status, output) = try run(generator, ["-m", "64", "-c", "\(coils)", "-a", "2", "-w", "16", "-r", "1",
                                                   "-n", "0.01", "-o", path])
        guard status == 0 else { throw ValidationFailure("\(generator) failed: \(output)") }
    }

    @Test func mrdFileStreamsLineByLineIntoFrames() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.generator),
                     "ismrmrd_generate_cartesian_shepp_logan is not on PATH: apt-get install ismrmrd-tools (make test does)")
        let dir = NSTemporaryDirectory() + "lpnd-mrd-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.generate(dir + "/scan.h5", coils: 4)
        try Self.generate(dir + "/two-coils.h5", coils: 2)

        let daemon = try DaemonProcessTests.startDaemon(pipeline: Self.pipeline)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let send = try Self.run(DaemonProcessTests.executable, ["send", "--pipeline", Self.pipeline, "--endpoint", daemon.ingest,
                                                                "--mrd", dir + "/scan.h5", "--stream", "scan",
                                                                "--publish", daemon.publish])
        #expect(send.status == 0, "\(send.output)")
        #expect(send.output.contains("sent 80 MRD acquisitions"), "\(send.output)")
        // -a 2 -w 16: two interleaved frames of 32 lines + 8 more central ones each (80 acquisitions).
        // Frames, diagnostics, errors and the sender's pongs, until both frames are in.
        var outputs: [Output] = []
        let deadline = MonotonicClock.seconds() + 60
        while outputs.filter({ $0.kind == "frame" }).count < 2 && MonotonicClock.seconds() < deadline {
            outputs += try peer.collect(1, timeout: 5)
        }
        let frames = outputs.filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == [0, 1], "daemon received \((try? DaemonProcessTests.received(daemon)) ?? -1); outputs \(outputs.map { "\($0.kind) \($0.event?.message ?? "")" })")
        #expect(outputs.filter { $0.kind == "error" }.isEmpty, "\(outputs.filter { $0.kind == "error" }.map(\.event))")
        if frames.count == 2 {
            // Both halves of k-space show the same phantom: the frames agree, and they are not flat.
            let (a, b) = (frames[0].image, frames[1].image)
            let mse = zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)
            let mean = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
            let spread = (a.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(a.count)).squareRoot()
            #expect(10 * log10(1 / mse) > 20, "frames differ: PSNR between them \(10 * log10(1 / mse)) dB")
            #expect(spread > 0.1, "flat image (std \(spread))")
            #expect(a.count == 64 * 64)
        }

        // Two coils against a 4-coil pipeline: one error event naming the channel count, no frame.
        let wrong = try Self.run(DaemonProcessTests.executable, ["send", "--pipeline", Self.pipeline, "--endpoint", daemon.ingest,
                                                                 "--mrd", dir + "/two-coils.h5", "--stream", "other",
                                                                 "--publish", daemon.publish])
        #expect(wrong.status == 0)
        var errors: [Output] = []
        while errors.count < 2 && MonotonicClock.seconds() < deadline + 30 {
            errors += try peer.collect(1, timeout: 5).filter { $0.kind == "error" }
        }
        #expect(errors.map(\.code) == ["mrd_header", "mrd_header"])
        #expect(errors.first?.event?.message.contains("receiverChannels 2") == true, "\(errors.map(\.event))")
        #expect(errors.last?.event?.message.hasPrefix("80 more acquisition(s) dropped") == true, "\(errors.map(\.event))")
        let (status, log) = daemon.stop()
        #expect(status == 0, "\(log)")
    }
}

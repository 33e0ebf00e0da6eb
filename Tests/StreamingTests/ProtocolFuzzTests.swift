import Foundation
import Streaming
import StreamingTestSupport
import Testing

/// Thousands of generated malformed messages through a running daemon (PUSH → PULL on
/// loopback), valid ones interleaved: exactly one error event with the predicted code per
/// malformed message, in order, no frame for any of them, every valid one reconstructed, and
/// the process's memory bounded.
@Suite struct ProtocolFuzzTests {
    @Test func tenThousandMalformedMessagesGetTheirCodesAndGoodFramesFlow() throws {
        let daemon = try makeDaemon([(FakeBackend(), ingestConfig(inbox: 64, reconstructInbox: 16))])
        defer { daemon.shutdown() }
        let peer = try TestPeer(ingest: daemon.pipelines[0].endpoint, publish: daemon.publisher.endpoint)
        #expect(try peer.handshake())
        var generator = MalformedMessages(seed: 11_29, oversizedHeaders: false)
        var expectedErrors: [String] = []
        var validSeqs: [UInt64] = []
        let rssBefore = residentBytes()
        var seq: UInt64 = 0
        var outputs: [Output] = []
        // Batches keep the listener's queue short; every batch is checked as it comes back.
        while expectedErrors.count < 10_000 {
            var batchErrors = 0, batchFrames = 0
            for _ in 0..<500 {
                let message = generator.next(seq: seq)
                seq += 1
                try peer.sender.send(message.parts)
                if let code = message.expected { expectedErrors.append(code); batchErrors += 1 } else { validSeqs.append(message.seq); batchFrames += 1 }
            }
            // A frame is two outputs (frame, diagnostics).
            let batch = try peer.collect(batchErrors + 2 * batchFrames, timeout: 30)
            #expect(batch.count == batchErrors + 2 * batchFrames, "batch ending at seq \(seq): \(batch.count) outputs")
            outputs += batch
        }
        let errors = outputs.filter { $0.kind == "error" }
        let frames = outputs.filter { $0.kind == "frame" }
        #expect(errors.count == expectedErrors.count)
        let firstMismatch = zip(errors, expectedErrors).enumerated().first { $0.element.0.code != $0.element.1 }
        #expect(firstMismatch == nil, "error #\(firstMismatch?.offset ?? -1): got \(firstMismatch?.element.0.code ?? "-") (\(firstMismatch?.element.0.event?.message ?? "")), expected \(firstMismatch?.element.1 ?? "-")")
        #expect(frames.compactMap(\.seq) == validSeqs, "every valid message, and only those, became a frame")
        let stats = daemon.stats.pipelines[0]
        #expect(stats.received == stats.frames + stats.errors + stats.pings)
        let growth = residentBytes() - rssBefore
        #expect(growth < 64 << 20, "resident memory grew by \(growth >> 20) MiB over \(seq) messages")
    }
}

/// This process's resident set size in bytes (/proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

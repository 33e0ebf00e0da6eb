import Foundation
import Streaming
import StreamingTestSupport
import Support
import Testing

@Suite struct ReordererTests {
    /// Collects what is emitted; the first `block` emits wait at a gate (a slow encode stage).
    final class Sink: Sendable {
        let stored = Locked<[Int]>([])
        var values: [Int] { stored.get() }
        let gate = Gate()
        let emitted = Counter()
        let blocked = Counter()
        func emit(_ v: Int) {
            if v == 0 { blocked.increment(); gate.pass() }
            stored.withLock { $0.append(v) }
            emitted.increment()
        }
    }

    @Test func releasesEachStreamInOrderFromManyThreads() {
        let sink = Sink()
        sink.gate.open()
        let reorderer = Reorderer<Int>(enabled: true, capacity: 4) { sink.emit($0) }
        let indices = Array(0..<400).shuffled()
        DispatchQueue.concurrentPerform(iterations: indices.count) { i in
            reorderer.complete(stream: "s", index: UInt64(indices[i]), indices[i])
        }
        #expect(sink.values == Array(0..<400))
        #expect(reorderer.pendingCount == 0)
    }

    @Test func aBlockedEmitDoesNotHoldTheLock() {
        let sink = Sink()
        let reorderer = Reorderer<Int>(enabled: true, capacity: 8) { sink.emit($0) }
        // Index 0's emit blocks at the gate, on its own thread.
        let first = DispatchSemaphore(value: 0)
        Thread { reorderer.complete(stream: "s", index: 0, 0); first.signal() }.start()
        #expect(sink.blocked.wait(for: 1))
        #expect(sink.emitted.current == 0)
        // Other completions (and another stream) return at once while it is blocked.
        for i in 1...5 { reorderer.complete(stream: "s", index: UInt64(i), i) }
        reorderer.complete(stream: "t", index: 0, 100)
        #expect(reorderer.pendingCount == 0)
        sink.gate.open()
        first.wait()
        #expect(sink.values == [0, 1, 2, 3, 4, 5, 100])
    }

    @Test func lateDuplicatesAreIgnored() {
        let sink = Sink()
        sink.gate.open()
        let reorderer = Reorderer<Int>(enabled: true, capacity: 2) { sink.emit($0) }
        reorderer.complete(stream: "s", index: 0, 0)
        reorderer.complete(stream: "s", index: 0, 99)
        #expect(sink.values == [0])
    }
}

@Suite struct FrameLedgerTests {
    func frame(_ stream: String, _ seq: UInt64) -> InboundFrame {
        InboundFrame(header: MeasurementHeader(stream: stream, seq: seq, timestamp: 0, pipeline: "p", shape: [1], dtype: .float32),
                     measurement: [0], reference: nil, receivedAt: 0)
    }

    @Test func indicesArePerStreamAndEachEntrySettlesOnce() {
        let ledger = FrameLedger()
        let a0 = ledger.enter(frame("a", 10)), a1 = ledger.enter(frame("a", 11)), b0 = ledger.enter(frame("b", 5))
        #expect([a0.index, a1.index, b0.index] == [0, 1, 0])
        #expect(ledger.openEntries.map(\.frame.header.seq) == [10, 5, 11] || ledger.openEntries.map(\.frame.header.seq) == [5, 10, 11])
        #expect(ledger.settle(a1) && !ledger.settle(a1))
        #expect(ledger.openCount == 2)
    }
}

@Suite struct FrameEncoderTests {
    let encoder = FrameEncoder(pipeline: "p", attachPNG: false)

    @Test func errorsWithoutAValidStreamGoToTheUnderscoreTopic() throws {
        let named = encoder.error(ErrorEvent(stream: "cam", seq: 1, pipeline: "p", code: .payloadSize, message: "m"))
        let anonymous = encoder.error(ErrorEvent(stream: "a/b", seq: nil, pipeline: "p", code: .malformedHeader, message: "m"))
        #expect(String(decoding: named[0], as: UTF8.self) == "error/cam/")
        #expect(String(decoding: anonymous[0], as: UTF8.self) == "error/_/")
        // Unknown stream and seq are null, not absent (PROTOCOL.md §5).
        let nulls = try StrictJSON.parse(anonymous[1])
        #expect(nulls["seq"] == .null && nulls["stream"] == .string("a/b"))
        let body = try StrictJSON.parse(named[1])
        #expect(body["code"] == .string("payload_size") && body["seq"] == .integer("1") && body["lpnd"] == .integer("1"))
    }

    @Test func pongsEchoStreamAndSeq() throws {
        let pong = encoder.pong(Ping(stream: "probe", seq: 18_446_744_073_709_551_615))
        #expect(String(decoding: pong[0], as: UTF8.self) == "pong/probe/")
        let body = try StrictJSON.parse(pong[1])
        #expect(body["type"] == .string("pong") && body["seq"] == .integer("18446744073709551615") && body["pipeline"] == .string("p"))
    }
}

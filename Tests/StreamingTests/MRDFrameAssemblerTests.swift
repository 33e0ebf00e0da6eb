import Foundation
import Streaming
import Testing

/// MRD messages (reader and writer) and frame assembly, without sockets.
@Suite struct MRDFrameAssemblerTests {
    static let expectation = MRDExpectation(coils: 2, height: 16, width: 8, readoutLength: 16, minimumCentralRows: 4)
    static let xml = """
        <?xml version="1.0"?>
        <ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
          <acquisitionSystemInformation><receiverChannels>2</receiverChannels></acquisitionSystemInformation>
          <encoding>
            <encodedSpace><matrixSize><x>16</x><y>16</y><z>1</z></matrixSize></encodedSpace>
            <reconSpace><matrixSize><x>8</x><y>16</y><z>1</z></matrixSize></reconSpace>
          </encoding>
        </ismrmrdHeader>
        """

    /// A packed 340-byte acquisition header with the fields the assembler reads.
    static func acquisition(line: Int, repetition: Int = 0, flags: [MRDAcquisition.Flag] = [], channels: Int = 2,
                            samples: Int = 16, step2: Int = 0) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: MRDAcquisition.headerBytes)
        func put<T: FixedWidthInteger>(_ v: T, _ offset: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { h[offset + i] = b } }
        }
        put(UInt64(flags.reduce(0) { $0 | (1 << UInt64($1.rawValue - 1)) }), 2)
        put(UInt16(samples), 34); put(UInt16(channels), 38); put(UInt16(samples / 2), 172)
        put(UInt16(line), 242); put(UInt16(step2), 244); put(UInt16(repetition), 254)
        let data = (0..<(2 * channels * samples)).map { Float(line * 1000 + $0) }
        return MRDMessage.encodeAcquisition(header: h, trajectory: [], data: data)
    }

    static func decode(_ bytes: [UInt8]) -> MRDMessage {
        guard case .success(let m) = MRDMessage.decode(bytes) else { fatalError("undecodable test message") }
        return m
    }

    func feed(_ assembler: MRDFrameAssembler, _ bytes: [UInt8], stream: String = "scan") -> [MRDFrameAssembler.Output] {
        assembler.accept(stream: stream, message: Self.decode(bytes), receivedAt: 0)
    }

    func errors(_ outputs: [MRDFrameAssembler.Output]) -> [ErrorEvent] {
        outputs.compactMap { if case .error(let e) = $0 { e } else { nil } }
    }

    func frames(_ outputs: [MRDFrameAssembler.Output]) -> [InboundFrame] {
        outputs.compactMap { if case .frame(let f) = $0 { f } else { nil } }
    }

    @Test func readerRejectsBadMessages() {
        #expect(throws: Never.self) { _ = try MRDMessage.decode(MRDMessage.encodeHeader(xml: Self.xml)).get() }
        for (bytes, text) in [([UInt8]([9]), "2-byte id"), ([7, 0], "id 7 does not exist"),
                              (Array(Self.acquisition(line: 0).dropLast(4)), "need"),
                              (MRDMessage.encodeClose() + [0], "has a 1-byte body")] {
            guard case .failure(let problem) = MRDMessage.decode(bytes) else { Issue.record("accepted \(bytes.prefix(4))"); continue }
            #expect(problem.description.contains(text), "\(problem)")
        }
    }

    /// Lines land at their row, per coil; the end-of-slice line completes the frame with its rows.
    @Test func linesBecomeAFrameAtTheEndOfSlice() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        #expect(feed(a, MRDMessage.encodeHeader(xml: Self.xml)).isEmpty)
        let rows = [6, 7, 8, 9, 10, 1, 14]
        for (i, r) in rows.enumerated() {
            let out = feed(a, Self.acquisition(line: r, flags: i == rows.count - 1 ? [.lastInSlice] : []))
            #expect(out.isEmpty == (i < rows.count - 1))
        }
        // Noise lines are skipped, not errors.
        #expect(feed(a, Self.acquisition(line: 3, flags: [.noise])).isEmpty)
        for (i, r) in rows.enumerated() { _ = feed(a, Self.acquisition(line: r, repetition: 1, flags: i == rows.count - 1 ? [.lastInSlice] : [])) }
        let out = feed(a, MRDMessage.encodeClose())
        #expect(out.isEmpty)
        #expect(a.streamCount == 0)
    }

    @Test func frameValuesAndRows() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        _ = feed(a, MRDMessage.encodeHeader(xml: Self.xml))
        var last: [MRDFrameAssembler.Output] = []
        for r in 6...10 { last = feed(a, Self.acquisition(line: r, flags: r == 10 ? [.lastInSlice] : [])) }
        let frame = frames(last)
        #expect(frame.count == 1)
        guard let f = frame.first else { return }
        #expect(f.header.seq == 0 && f.header.shape == [2, 16, 16] && f.sampledRows == [6, 7, 8, 9, 10])
        // Coil 1, row 8, sample 3: the line's data index (1·16 + 3)·2.
        #expect(f.measurement[2 * ((1 * 16 + 8) * 16 + 3)] == Float(8 * 1000 + 2 * (16 + 3)))
        #expect(f.measurement[2 * ((0 * 16 + 2) * 16 + 3)] == 0)  // a row never sent
    }

    @Test func mismatchesAndIncompleteFramesBecomeErrors() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        #expect(errors(feed(a, Self.acquisition(line: 8))).first?.code == .mrdHeader)  // before a header
        #expect(feed(a, Self.acquisition(line: 9)).isEmpty)  // counted, reported at the next header
        let wrong = Self.xml.replacingOccurrences(of: "<receiverChannels>2<", with: "<receiverChannels>4<")
        let rejected = errors(feed(a, MRDMessage.encodeHeader(xml: wrong)))
        #expect(rejected.map { String($0.message.prefix(24)) } == ["1 more acquisition(s) dr", "MRD receiverChannels 4 i"])
        _ = feed(a, MRDMessage.encodeHeader(xml: Self.xml))
        #expect(errors(feed(a, Self.acquisition(line: 8, channels: 3))).first?.code == .mrdAcquisition)
        #expect(errors(feed(a, Self.acquisition(line: 16))).first?.message.contains("outside the 16") == true)
        #expect(errors(feed(a, Self.acquisition(line: 8, step2: 1))).first?.code == .mrdAcquisition)
        // Other counters open a frame beside the first: no error.
        _ = feed(a, Self.acquisition(line: 8))
        #expect(feed(a, Self.acquisition(line: 8, repetition: 1)).isEmpty)
        // Too few central rows at the end of slice: an error, and no seq taken.
        let short = errors(feed(a, Self.acquisition(line: 9, repetition: 1, flags: [.lastInSlice])))
        #expect(short.first?.code == .mrdIncomplete && short.first?.seq == nil && short.first?.message.contains("calibration needs 4") == true)
        // Close with two open frames (repetitions 0 and 2): both reported.
        _ = feed(a, Self.acquisition(line: 8, repetition: 2))
        #expect(errors(feed(a, MRDMessage.encodeClose())).map(\.code) == [.mrdIncomplete, .mrdIncomplete])
    }

    /// Lines of two repetitions alternating (as interleaved slices come) make two frames, seq 0
    /// and 1, each with its own counters; a ninth open frame drops the oldest.
    @Test func interleavedFramesAssembleSideBySide() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        _ = feed(a, MRDMessage.encodeHeader(xml: Self.xml))
        var done: [InboundFrame] = []
        for r in 6...10 {
            for rep in 0..<2 { done += frames(feed(a, Self.acquisition(line: r, repetition: rep, flags: r == 10 ? [.lastInSlice] : []))) }
        }
        #expect(done.map(\.header.seq) == [0, 1] && done.map { $0.mrd?.repetition } == [0, 1])
        #expect(done.allSatisfy { $0.sampledRows == [6, 7, 8, 9, 10] && $0.mrd?.missingLines == 0 })
        for rep in 0..<MRDFrameAssembler.maxOpenFrames { #expect(feed(a, Self.acquisition(line: 7, repetition: rep)).isEmpty) }
        let evicted = errors(feed(a, Self.acquisition(line: 7, repetition: 99)))
        #expect(evicted.count == 1 && evicted[0].message.contains("the oldest (slice 0 contrast 0 phase 0 repetition 0") == true)
    }

    /// With the header's acceleration factor, a frame with a gap of a whole period lacks lines.
    @Test func framesLackingLinesAreCounted() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        let xml = Self.xml.replacingOccurrences(of: "</encoding>", with: """
            <encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>15</maximum><center>8</center></kspace_encoding_step_1></encodingLimits>
            <parallelImaging><accelerationFactor><kspace_encoding_step_1>2</kspace_encoding_step_1><kspace_encoding_step_2>1</kspace_encoding_step_2></accelerationFactor></parallelImaging>
            </encoding>
            """)
        _ = feed(a, MRDMessage.encodeHeader(xml: xml))
        func frame(_ rows: [Int]) -> InboundFrame? {
            var out: [InboundFrame] = []
            for (i, r) in rows.enumerated() { out += frames(feed(a, Self.acquisition(line: r, flags: i == rows.count - 1 ? [.lastInSlice] : []))) }
            return out.first
        }
        #expect(frame([0, 2, 4, 6, 7, 8, 9, 10, 12, 14])?.mrd?.missingLines == 0)
        #expect(frame([0, 2, 6, 7, 8, 9, 10, 12])?.mrd?.missingLines == 2)  // 4 and 14 lost
    }

    /// Config, text, waveform and image messages are read and accepted, not errors.
    @Test func otherMessagesAreAccepted() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        let waveform = [UInt8]([0x02, 0x04]) + [UInt8](repeating: 0, count: 40)
        for bytes in [MRDMessage.encodeConfigFile("default.xml"), MRDMessage.encodeText("hello"), waveform] {
            let out = feed(a, bytes)
            #expect(out.count == 1 && { if case .ignored = out[0] { true } else { false } }())
        }
        guard case .success(.configFile(let name)) = MRDMessage.decode(MRDMessage.encodeConfigFile("default.xml")) else {
            Issue.record("config file not read back"); return
        }
        #expect(name == "default.xml")
    }

    @Test func streamStateIsBounded() {
        let a = MRDFrameAssembler(pipeline: "p", expectation: Self.expectation)
        for i in 0..<MRDFrameAssembler.maxStreams { _ = feed(a, MRDMessage.encodeHeader(xml: Self.xml), stream: "s\(i)") }
        #expect(errors(feed(a, MRDMessage.encodeHeader(xml: Self.xml), stream: "one-more")).first?.message.contains("too many") == true)
        _ = feed(a, MRDMessage.encodeClose(), stream: "s0")
        #expect(feed(a, MRDMessage.encodeHeader(xml: Self.xml), stream: "one-more").isEmpty)
    }
}

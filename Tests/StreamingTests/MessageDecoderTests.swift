import Foundation
import Streaming
import StreamingTestSupport
import TensorIO
import Testing
import Support

@Suite struct MessageDecoderTests {
    let decoder = MessageDecoder(interface: PipelineInterface(name: "fake", measurementShape: [4, 4],
                                                              measurementDType: .float32, imageShape: [4, 4]))

    func rejection(_ header: String, payload: [UInt8] = TestPeer.payload(seq: 0), reference: [UInt8]? = nil) -> ErrorEvent? {
        var parts = [Array(header.utf8), payload]
        if let reference { parts.append(reference) }
        if case .failure(let r) = decoder.decode(parts, receivedAt: 0) { return r.event }
        return nil
    }

    func frame(_ header: String, reference: [UInt8]? = nil) -> InboundFrame? {
        var parts = [Array(header.utf8), TestPeer.payload(seq: 3)]
        if let reference { parts.append(reference) }
        if case .success(.frame(let frame)) = decoder.decode(parts, receivedAt: 9) { return frame }
        return nil
    }

    let valid = #"{"lpnd":1,"type":"measurement","stream":"s","seq":7,"timestamp":1.5,"pipeline":"fake","shape":[4,4],"dtype":"float32","byte_order":"little"}"#

    func with(_ key: String, _ json: String) -> String {
        let pattern = try! NSRegularExpression(pattern: "\"\(key)\":(\"[^\"]*\"|\\[[^\\]]*\\]|[^,}]*)")
        let range = NSRange(valid.startIndex..., in: valid)
        precondition(pattern.firstMatch(in: valid, range: range) != nil, "no key \(key)")
        return pattern.stringByReplacingMatches(in: valid, range: range,
                                                withTemplate: NSRegularExpression.escapedTemplate(for: "\"\(key)\":\(json)"))
    }

    func without(_ key: String) -> String {
        with(key, "0").replacingOccurrences(of: "\"\(key)\":0,", with: "").replacingOccurrences(of: ",\"\(key)\":0", with: "")
    }

    @Test func validHeaderDecodes() throws {
        let frame = try #require(self.frame(valid))
        #expect(frame.header.seq == 7 && frame.header.stream == "s" && frame.header.timestamp == 1.5)
        #expect(frame.measurement == (0..<16).map { 3 + Float($0) / 100 })
        #expect(frame.reference == nil && frame.receivedAt == 9)
        // Unknown keys are ignored; whitespace and escapes are JSON.
        #expect(self.frame(valid.replacingOccurrences(of: "{", with: "{ \"note\" : {\"a\":[1,2.5,null]} ,\n")) != nil)
        #expect(self.frame(with("stream", #""\u0073""#))?.header.stream == "s")
    }

    @Test func typesAreNeverBridged() {
        let cases: [(String, String, String)] = [
            (with("lpnd", "true"), "unsupported_version", "true"),
            (with("lpnd", "\"1\""), "unsupported_version", "\"1\""),
            (with("lpnd", "1.0"), "unsupported_version", "1.0"),
            (without("lpnd"), "malformed_header", "missing key 'lpnd'"),
            (with("seq", "true"), "malformed_header", "'seq' must be an integer"),
            (with("seq", "3.0"), "malformed_header", "'seq'"),
            (with("seq", "1e2"), "malformed_header", "'seq'"),
            (with("seq", "-1"), "malformed_header", "'seq'"),
            (with("seq", "18446744073709551616"), "malformed_header", "'seq'"),
            (with("timestamp", "true"), "malformed_header", "'timestamp' must be a finite number"),
            (with("timestamp", "1e400"), "malformed_header", "'timestamp'"),
            (with("shape", "[true,true]"), "malformed_header", "'shape' must be an array of integers"),
            (with("shape", "[4.0,4]"), "malformed_header", "'shape'"),
            (with("stream", "1"), "malformed_header", "'stream' must be a string"),
            (with("byte_order", "\"little\",\"reference\":0"), "malformed_header", "'reference' must be true or false"),
            (with("byte_order", "\"little\",\"reference\":null"), "malformed_header", "'reference'"),
            (with("type", "1"), "malformed_header", "'type' must be a string"),
        ]
        for (header, code, fragment) in cases {
            let event = rejection(header)
            #expect(event?.code.rawValue == code, "\(header) → \(event?.code.rawValue ?? "accepted")")
            #expect(event?.message.contains(fragment) == true, "\(event?.message ?? "accepted") lacks \(fragment)")
        }
        // reference: 1 with three parts is not `true`.
        #expect(rejection(with("byte_order", "\"little\",\"reference\":1"), reference: TestPeer.payload(seq: 0))?.code == .malformedHeader)
    }

    @Test func checksRunInTheDocumentedOrder() {
        let cases: [(String, ErrorCode)] = [
            // pipeline before dtype before shape before byte_order
            (with("pipeline", "\"other\"").replacingOccurrences(of: "float32", with: "complex128"), .unknownPipeline),
            (with("dtype", "\"complex128\""), .dtypeMismatch),
            (with("dtype", "\"complex64\"").replacingOccurrences(of: "[4,4]", with: "[5,5]"), .dtypeMismatch),
            (with("shape", "[-4,4]"), .shapeMismatch),
            (with("shape", "[18446744073709551616,4]"), .shapeMismatch),
            (with("shape", "[4,4]").replacingOccurrences(of: "little", with: "big"), .malformedHeader),
            (with("stream", "\"_\""), .malformedHeader),
            (with("stream", "\"_x\""), .malformedHeader),
            (with("stream", "\"\(String(repeating: "a", count: 65))\""), .malformedHeader),
            (with("type", "\"frame\""), .malformedHeader),
            (with("lpnd", "2").replacingOccurrences(of: "\"seq\":7", with: "\"seq\":true"), .unsupportedVersion),
        ]
        for (header, code) in cases {
            #expect(rejection(header)?.code == code, "\(header)")
        }
        // Part 2's size is checked before any value's finiteness.
        var nan = TestPeer.payload(seq: 0)
        withUnsafeBytes(of: Float.nan) { for i in 0..<4 { nan[i] = $0[i] } }
        let withReference = with("byte_order", "\"little\",\"reference\":true")
        #expect(rejection(withReference, payload: nan, reference: [0, 0, 0, 0])?.code == .payloadSize)
        #expect(rejection(withReference, payload: nan, reference: TestPeer.payload(seq: 0))?.code == .nonFinite)
        #expect(rejection(withReference, payload: TestPeer.payload(seq: 0), reference: nan)?.code == .nonFinite)
        #expect(rejection(withReference)?.code == .malformedMessage)
        #expect(rejection(valid, reference: TestPeer.payload(seq: 0))?.code == .malformedMessage)
        #expect(rejection(valid, payload: [1, 2, 3])?.code == .payloadSize)
    }

    @Test func limitsAreEnforcedAndNamed() {
        let deep = "{\"a\":" + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}"
        #expect(rejection(deep)?.message.contains("nesting deeper than 32") == true)
        let shallow = "{\"a\":" + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + ","
        #expect(frame(valid.replacingOccurrences(of: "{", with: shallow)) != nil, "31 levels inside the header object are allowed")
        let big = valid.replacingOccurrences(of: "{", with: "{\"pad\":\"\(String(repeating: "x", count: 65_536))\",")
        #expect(rejection(big)?.message.contains("limit is 65536") == true)
        #expect(rejection(valid.replacingOccurrences(of: "\"seq\":7", with: "\"seq\":7,\"seq\":8"))?.message.contains("duplicate key 'seq'") == true)
        #expect(rejection(valid + "x")?.message.contains("after the JSON value") == true)
        var invalidUTF8 = Array(valid.utf8)
        invalidUTF8[invalidUTF8.firstIndex(of: UInt8(ascii: "s"))! + 3] = 0xFF  // inside "stream"'s value "s"
        if case .failure(let r) = decoder.decode([invalidUTF8, TestPeer.payload(seq: 0)], receivedAt: 0) {
            #expect(r.event.code == .malformedHeader)
        } else {
            Issue.record("invalid UTF-8 accepted")
        }
    }

    @Test func errorEventsEchoOnlyWhatIsValid() {
        #expect(rejection(with("lpnd", "2"))?.seq == 7)
        #expect(rejection(with("lpnd", "2"))?.stream == "s")
        #expect(rejection(with("lpnd", "2").replacingOccurrences(of: "\"seq\":7", with: "\"seq\":1180591620717411303424"))?.seq == nil)
        #expect(rejection(with("lpnd", "2").replacingOccurrences(of: "\"seq\":7", with: "\"seq\":18446744073709551615"))?.seq == UInt64.max)
        #expect(rejection(with("stream", "\"a/b\""))?.stream == nil)
        #expect(frame(with("seq", "18446744073709551615"))?.header.seq == UInt64.max)
        // A readable header is identified even when the part count is wrong.
        if case .failure(let r) = decoder.decode([Array(valid.utf8), [], [], []], receivedAt: 0) {
            #expect(r.event.code == .malformedMessage && r.event.stream == "s" && r.event.seq == 7)
        }
    }

    @Test func clientTextInMessagesIsEscapedAndShort() {
        let event = rejection(with("pipeline", "\"p\\nlpnd error: forged \(String(repeating: "x", count: 5000))\""))
        #expect(event?.code == .unknownPipeline)
        #expect(event.map { !$0.message.contains("\n") && $0.message.contains("\\n") && $0.message.count < 200 } == true,
                "\(event?.message.prefix(300) ?? "")")
    }

    @Test func timestampsAreReadExactly() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<2000 {
            let t = 1.7e9 + Double(rng.next() % 100_000_000_000) / 1e3 + rng.nextUnit() * 1e-3
            let text = "\(t)"
            let parsed = try #require(frame(with("timestamp", text))).header.timestamp
            #expect(parsed.bitPattern == t.bitPattern, "\(text) read as \(parsed)")
            // And echoed: outputs are written by JSONEncoder, whose text reads back the same bits.
            struct Echo: Encodable { var timestamp: Double }
            let json = try StrictJSON.parse([UInt8](try JSONEncoder().encode(Echo(timestamp: parsed))))
            #expect(json["timestamp"]?.finiteDoubleValue?.bitPattern == t.bitPattern)
        }
    }

    @Test func pingsAreOnePartMessages() {
        let ping = #"{"lpnd":1,"type":"ping","stream":"probe","seq":3}"#
        if case .success(.ping(let p)) = decoder.decode([Array(ping.utf8)], receivedAt: 0) {
            #expect(p == Ping(stream: "probe", seq: 3))
        } else {
            Issue.record("ping not decoded")
        }
        func code(_ parts: [[UInt8]]) -> ErrorCode? {
            if case .failure(let r) = decoder.decode(parts, receivedAt: 0) { return r.event.code }
            return nil
        }
        #expect(code([Array(ping.utf8), []]) == .malformedMessage)
        #expect(code([Array(#"{"lpnd":1,"type":"ping","stream":"probe"}"#.utf8)]) == .malformedHeader)
        #expect(code([Array(#"{"lpnd":1,"type":"ping","stream":"_","seq":1}"#.utf8)]) == .malformedHeader)
        #expect(code([Array(valid.utf8)]) == .malformedMessage)
        #expect(code([]) == .malformedMessage)
        #expect(code([[], [], [], []]) == .malformedMessage)
    }

    /// Seeded fuzzing of the decoder alone; the daemon-level run is in ProtocolFuzzTests.
    @Test func everyGeneratedMessageGetsThePredictedCode() {
        var generator = MalformedMessages(seed: 20261129)
        var mismatches: [String] = []
        var tally: [String: Int] = [:]
        for seq in 0..<20_000 {
            let message = generator.next(seq: UInt64(seq))
            tally[message.expected ?? "frame", default: 0] += 1
            let got: String? = switch decoder.decode(message.parts, receivedAt: 0) {
            case .success(.frame): nil
            case .success(.ping): "ping"
            case .success(.mrd): "mrd"
            case .failure(let r): r.event.code.rawValue
            }
            if got != message.expected && mismatches.count < 10 {
                let header = String(decoding: message.parts.first?.prefix(200) ?? [], as: UTF8.self)
                mismatches.append("#\(seq) expected \(message.expected ?? "frame"), got \(got ?? "frame"): \(message.parts.map(\.count)) \(header)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // Every decoding code and valid frames are generated often.
        let codes = ["frame", "malformed_message", "malformed_header", "unsupported_version", "unknown_pipeline",
                     "dtype_mismatch", "shape_mismatch", "payload_size", "non_finite"]
        #expect(codes.allSatisfy { tally[$0, default: 0] >= 200 }, "\(tally)")
    }

    /// `lines` (docs/PROTOCOL.md §1): an MRI pipeline's frame carries its rows to the
    /// reconstruction; anything else in it, or the key on a pipeline with a fixed sampling, is
    /// malformed_header naming the key.
    @Test func linesReachTheFrameOfAnMRIPipelineAndAreCheckedByTheRule() throws {
        let mri = MessageDecoder(interface: PipelineInterface(name: "fake", measurementShape: [4, 4], measurementDType: .float32,
                                                              imageShape: [4, 4], lineRows: 4))
        func decode(_ decoder: MessageDecoder, _ lines: String) -> Result<MessageDecoder.Decoded, MessageDecoder.Rejection> {
            decoder.decode([Array(valid.replacingOccurrences(of: "}", with: ",\"lines\":\(lines)}").utf8),
                            TestPeer.payload(seq: 0)], receivedAt: 0)
        }
        guard case .success(.frame(let frame)) = decode(mri, "[0,3,1]") else {
            Issue.record("lines refused")
            return
        }
        #expect(frame.sampledRows == [0, 3, 1] && frame.header.lines == [0, 3, 1])
        for bad in ["[]", "[0,4]", "[-1]", "[1,1]", "[0.5]", "\"0\"", "[true]"] {
            guard case .failure(let r) = decode(mri, bad) else { Issue.record("lines \(bad) accepted"); continue }
            #expect(r.event.code == .malformedHeader && r.event.message.contains("'lines'"), "\(bad): \(r.event.message)")
        }
        guard case .failure(let fixed) = decode(decoder, "[0]") else {
            Issue.record("lines accepted by a pipeline without them")
            return
        }
        #expect(fixed.event.code == .malformedHeader && fixed.event.message.contains("'lines'"))
    }
}

import Foundation
import Streaming
import StreamingTestSupport
import Testing

@Suite struct MessageDecoderTests {
    let decoder = MessageDecoder(interface: PipelineInterface(name: "fake", measurementShape: [4, 4],
                                                              measurementDType: .float32, imageShape: [4, 4]))

    func rejection(_ header: String, payload: [UInt8] = TestPeer.payload(seq: 0)) -> ErrorEvent? {
        if case .failure(let r) = decoder.decode([Array(header.utf8), payload], receivedAt: 0) { return r.event }
        return nil
    }

    let valid = #"{"lpnd":1,"type":"measurement","stream":"s","seq":7,"timestamp":1.5,"pipeline":"fake","shape":[4,4],"dtype":"float32","byte_order":"little"}"#

    @Test func validHeaderDecodes() throws {
        guard case .success(let frame) = decoder.decode([Array(valid.utf8), TestPeer.payload(seq: 3)], receivedAt: 9) else {
            Issue.record("valid message rejected")
            return
        }
        #expect(frame.header.seq == 7 && frame.header.stream == "s" && frame.header.timestamp == 1.5)
        #expect(frame.measurement == (0..<16).map { 3 + Float($0) / 100 })
        #expect(frame.reference == nil && frame.receivedAt == 9)
    }

    @Test func eachProblemGetsItsCodeAndNamesTheKey() {
        let cases: [(String, String, String)] = [
            (valid.replacingOccurrences(of: #""seq":7,"#, with: ""), "malformed_header", "missing key 'seq'"),
            (valid.replacingOccurrences(of: #""seq":7"#, with: #""seq":-1"#), "malformed_header", "'seq' must be a non-negative integer"),
            (valid.replacingOccurrences(of: #""dtype":"float32""#, with: #""dtype":"int8""#), "malformed_header", "'dtype'"),
            (valid.replacingOccurrences(of: #""dtype":"float32""#, with: #""dtype":"complex64""#), "dtype_mismatch", "complex64"),
            (valid.replacingOccurrences(of: #""stream":"s""#, with: #""stream":"a/b""#), "malformed_header", "stream id 'a/b'"),
            (valid.replacingOccurrences(of: #""little""#, with: #""big""#), "malformed_header", "byte_order 'big'"),
            (valid.replacingOccurrences(of: #""lpnd":1"#, with: #""lpnd":2"#), "unsupported_version", "version 2"),
            (valid.replacingOccurrences(of: #""type":"measurement""#, with: #""type":"frame""#), "malformed_header", "'frame'"),
            ("[1,2]", "malformed_header", "not a JSON object"),
        ]
        for (header, code, fragment) in cases {
            let event = rejection(header)
            #expect(event?.code.rawValue == code, "\(header)")
            #expect(event?.message.contains(fragment) == true, "\(event?.message ?? "accepted") lacks \(fragment)")
        }
        // What could be read is still reported, so the sender can match the error to its message.
        #expect(rejection(valid.replacingOccurrences(of: #""lpnd":1"#, with: #""lpnd":2"#))?.seq == 7)
    }
}

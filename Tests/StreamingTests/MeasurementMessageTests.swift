import Foundation
import Streaming
import Testing

/// The client side of the wire format (MeasurementMessage.swift): what lpnd's senders write
/// reads back as exactly what they meant.
@Suite struct MeasurementMessageTests {
    let decoder = MessageDecoder(interface: PipelineInterface(name: "fake", measurementShape: [4, 4],
                                                              measurementDType: .float32, imageShape: [4, 4]))

    /// Quotes, backslashes and control characters in a stream id are escaped: the ping is one
    /// valid JSON object whose `stream` is the id itself, which the daemon refuses by the id
    /// rule (never a ping of another stream, never invalid JSON).
    @Test(arguments: ["a\"b", "a\\b", "line\nbreak", "tab\tand\u{1}", #"ok","x":""#, "ok\",\"stream\":\"ok"])
    func pingsEscapeTheirStreamID(id: String) throws {
        let part = try #require(WireProtocol.pingMessage(stream: id, seq: 3).first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(part)) as? [String: Any])
        #expect(object["stream"] as? String == id)
        #expect((object["seq"] as? NSNumber)?.intValue == 3 && object["type"] as? String == "ping" && object.count == 4)
        guard case .failure(let rejection) = decoder.decode([part], receivedAt: 0) else {
            Issue.record("a ping of stream \(id.debugDescription) was accepted")
            return
        }
        #expect(rejection.event.code == .malformedHeader)
        #expect(rejection.event.stream == nil, "no valid stream is named")
    }

    @Test func aValidPingDecodesToItsStreamAndSeq() throws {
        guard case .success(.ping(let ping)) = decoder.decode(WireProtocol.pingMessage(stream: "cam-0.a_b", seq: 42), receivedAt: 0) else {
            Issue.record("ping not decoded")
            return
        }
        #expect(ping == Ping(stream: "cam-0.a_b", seq: 42))
    }
}

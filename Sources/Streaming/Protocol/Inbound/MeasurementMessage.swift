import Foundation
import Support

extension WireProtocol {
    /// Little-endian float32 bytes to floats (the host is little-endian; checked at build time).
    public static func floats(_ bytes: [UInt8]) -> [Float] {
        let count = bytes.count / 4
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyBytes(from: bytes.prefix(count * 4)) }
        return values
    }

    /// Floats as little-endian float32 bytes (a payload part).
    public static func bytes(_ floats: [Float]) -> [UInt8] {
        floats.withUnsafeBytes { [UInt8]($0) }
    }

    /// The parts of a measurement message (docs/PROTOCOL.md §1): header, measurement (float32,
    /// or complex64 as interleaved pairs) and, when given, the reference image. The header's
    /// `reference` flag is set to match.
    public static func measurementMessage(_ header: MeasurementHeader, measurement: [Float],
                                          reference: [Float]? = nil) throws -> [[UInt8]] {
        var header = header
        header.reference = reference != nil
        var parts = [try JSONWriter.encode(header), bytes(measurement)]
        if let reference { parts.append(bytes(reference)) }
        return parts
    }

    /// A ping of stream `stream` (docs/PROTOCOL.md §7): the daemon answers with a pong on
    /// `pong/<stream>/`, which tells the sender that its messages reach the daemon and the
    /// subscriber that its subscription is live.
    /// The stream id is JSON-escaped like every other string the protocol writes, whatever it
    /// holds (an id outside the protocol's rule gets a `malformed_header` event back).
    public static func pingMessage(stream: String = "probe", seq: UInt64 = 0) -> [[UInt8]] {
        struct PingHeader: Encodable {
            var lpnd = WireProtocol.version
            var type = "ping"
            var stream: String
            var seq: UInt64
        }
        return [JSONWriter.bytes(PingHeader(stream: stream, seq: seq))]
    }

    /// An MRD message for an `input: mrd` pipeline (docs/PROTOCOL.md §8): the envelope and one
    /// MRD message body (``MRDMessage``'s writer).
    public static func mrdMessage(stream: String, pipeline: String, body: [UInt8]) throws -> [[UInt8]] {
        struct Envelope: Encodable {
            var lpnd = WireProtocol.version
            var type = "mrd"
            var stream: String
            var pipeline: String
        }
        return [try JSONWriter.encode(Envelope(stream: stream, pipeline: pipeline)), body]
    }
}

import Foundation
import TensorIO
import Support

/// The writer side of docs/PROTOCOL.md §2–5, beside ``MessageDecoder`` (the reader): turns a
/// pipeline's results into the multipart messages the publisher sends. Part 0 of each is the
/// topic `<kind>/<stream>/`.
public struct FrameEncoder: Sendable {
    public typealias Message = [[UInt8]]

    public let pipeline: String
    /// Attach the PNG part to frame messages.
    public let attachPNG: Bool

    public init(pipeline: String, attachPNG: Bool) {
        self.pipeline = pipeline
        self.attachPNG = attachPNG
    }

    /// The 8-bit PNG of a result's image (values clipped to [0, 1]); nil if encoding fails.
    public static func png(of result: ProcessedFrame) -> [UInt8]? {
        try? PNGImage.encode(Tensor(shape: result.imageShape, data: result.image))
    }

    /// The frame message (§3) and, directly after it, its diagnostics message (§4).
    public func frame(_ frame: InboundFrame, _ result: ProcessedFrame, timings: FrameTimings, png: [UInt8]?,
                      generation: Int = 1) -> [Message] {
        let stream = frame.header.stream
        let header = FrameHeader(
            stream: stream, seq: frame.header.seq, pipeline: pipeline, timestamp: frame.header.timestamp,
            shape: result.imageShape, png: attachPNG && png != nil, timings: timings, convergence: result.convergence,
            psnr: result.psnr, ssim: result.ssim, flags: result.flags, prior: result.prior, check: result.check,
            choice: result.choice, generation: generation)
        var parts = [Self.topic(.frame, stream), JSONWriter.bytes(header), WireProtocol.bytes(result.image)]
        if attachPNG, let png { parts.append(png) }
        // {"lpnd":1,"type":"diagnostics","stream":…,"seq":…,"pipeline":…,"diagnostics":<record>}
        let envelope = JSONWriter.bytes(OutputIdentification(type: "diagnostics", stream: stream, seq: frame.header.seq, pipeline: pipeline))
        let body = Array(envelope.dropLast()) + Array(",\"diagnostics\":".utf8) + result.diagnosticsJSON + [UInt8(ascii: "}")]
        return [parts, [Self.topic(.diagnostics, stream), body]]
    }

    /// A frame as an MRD image message (§3, `mrd_images`): the identification as JSON, then the
    /// message (id 1022 and its body, ``MRDReply``).
    public func mrdImage(_ frame: InboundFrame, _ result: ProcessedFrame) -> Message {
        let stream = frame.header.stream
        return [Self.topic(.mrd, stream), JSONWriter.bytes(OutputIdentification(type: "mrd_image", stream: stream, seq: frame.header.seq, pipeline: pipeline)),
                MRDReply.image(frame, result, pipeline: pipeline)]
    }

    /// An error event (§5); its topic names the stream when the event has a valid one, else `_`.
    public func error(_ event: ErrorEvent) -> Message {
        let stream = event.stream.flatMap { WireProtocol.isValidStreamID($0) ? $0 : nil } ?? WireProtocol.unknownStream
        return [Self.topic(.error, stream), JSONWriter.bytes(event)]
    }

    /// The answer to a ping (§7).
    public func pong(_ ping: Ping, generation: Int = 1) -> Message {
        [Self.topic(.pong, ping.stream),
         JSONWriter.bytes(Pong(stream: ping.stream, seq: ping.seq, pipeline: pipeline, generation: generation))]
    }

    static func topic(_ kind: OutputKind, _ stream: String) -> [UInt8] {
        Array(WireProtocol.topic(kind, stream: stream).utf8)
    }
}

import Foundation
import Support

/// One message lpnd publishes, read back: the reader side of docs/PROTOCOL.md §2–5 and §7,
/// beside ``FrameEncoder`` (the writer). Every reader of lpnd's output in this package
/// (`lpnd listen`, the delivery check, `lpnd bench daemon`, the tests) goes through it.
public enum OutboundMessage: Sendable {
    /// A reconstructed frame: its header, the image (row-major float32) and the PNG when attached.
    case frame(FrameHeader, image: [Float], png: [UInt8]?)
    /// A frame's diagnostics record, as published (the JSON text of the whole message body).
    case diagnostics(DiagnosticsHeader, body: [UInt8])
    case error(ErrorEvent)
    case pong(Pong)
    /// A frame as an MRD image message (id 1022 and its body).
    case mrdImage(OutputIdentification, message: [UInt8])

    public var stream: String? {
        switch self {
        case .frame(let h, _, _): h.stream
        case .diagnostics(let h, _): h.stream
        case .error(let e): e.stream
        case .pong(let p): p.stream
        case .mrdImage(let h, _): h.stream
        }
    }

    public var seq: UInt64? {
        switch self {
        case .frame(let h, _, _): h.seq
        case .diagnostics(let h, _): h.seq
        case .error(let e): e.seq
        case .pong(let p): p.seq
        case .mrdImage(let h, _): h.seq
        }
    }

    public var kind: OutputKind {
        switch self {
        case .frame: .frame
        case .diagnostics: .diagnostics
        case .error: .error
        case .pong: .pong
        case .mrdImage: .mrd
        }
    }
}

/// The identification of a diagnostics message; the record itself stays JSON text (its keys
/// are docs/PROTOCOL.md §4's, and readers that keep it write it out as it came).
public struct DiagnosticsHeader: Codable, Sendable, Equatable {
    public var stream: String
    public var seq: UInt64
    public var pipeline: String
}

public enum OutboundDecoder {
    /// Why a published message could not be read (a reader from another version, a bug).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads one published multipart message: part 0 the topic `<kind>/<stream>/`, part 1 its
    /// JSON, then a frame's image and PNG.
    public static func decode(_ parts: [[UInt8]]) throws(Failure) -> OutboundMessage {
        guard parts.count >= 2 else { throw Failure(description: "expected at least 2 parts, got \(parts.count)") }
        let topic = String(decoding: parts[0], as: UTF8.self)
        guard let kind = topic.split(separator: "/", omittingEmptySubsequences: false).first.flatMap({ OutputKind(rawValue: String($0)) }) else {
            throw Failure(description: "unknown topic '\(escapingControlCharacters(topic, limit: 80))'")
        }
        let body = Data(parts[1])
        do {
            switch kind {
            case .frame:
                let header = try decoder.decode(FrameHeader.self, from: body)
                guard parts.count >= 3 else { throw Failure(description: "frame without its image part") }
                let image = WireProtocol.floats(parts[2])
                guard image.count == header.shape.reduce(1, *) else {
                    throw Failure(description: "frame image has \(image.count) values for shape \(header.shape)")
                }
                return .frame(header, image: image, png: header.png && parts.count >= 4 ? parts[3] : nil)
            case .diagnostics:
                return .diagnostics(try decoder.decode(DiagnosticsHeader.self, from: body), body: parts[1])
            case .error:
                return .error(try decoder.decode(ErrorEvent.self, from: body))
            case .pong:
                return .pong(try decoder.decode(Pong.self, from: body))
            case .mrd:
                guard parts.count == 3 else { throw Failure(description: "mrd message without its MRD image part") }
                return .mrdImage(try decoder.decode(OutputIdentification.self, from: body), message: parts[2])
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(kind.rawValue) message: \(error)")
        }
    }

    /// The daemon's reply to `stats` on the control socket (docs/PROTOCOL.md §6).
    public static func stats(_ reply: [UInt8]) throws(Failure) -> DaemonStats {
        do { return try decoder.decode(DaemonStats.self, from: Data(reply)) } catch {
            throw Failure(description: "stats reply: \(error)")
        }
    }

    /// Reads what ``WireJSON`` writes (non-finite numbers as "inf", "-inf", "nan").
    private static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}

import Foundation

/// One MRD (ISMRMRD) stream message, byte for byte as the MRD streaming protocol frames it: a
/// little-endian uint16 message id, then its body (docs/PROTOCOL.md §8). On ZeroMQ lpnd carries
/// one per message, after an envelope part; on the MRD TCP endpoint (§9) they follow each other.
///
///     id 1     config file   1024 bytes: a configuration's name, NUL-padded
///     id 2     config text   uint32 length, then the configuration's text
///     id 3     header        uint32 length, then the XML header (UTF-8; trailing NULs allowed)
///     id 4     close         nothing: the stream ends
///     id 5     text          uint32 length, then UTF-8 text (a log line or an error)
///     id 1008  acquisition   340-byte acquisition header, trajectory (float32 × trajectory
///                            dimensions × samples), data (complex64 × channels × samples)
///     id 1022  image         198-byte image header, uint64 attribute length, attribute XML,
///                            data (channels × z × y × x samples of the header's data type)
///     id 1026  waveform      40-byte waveform header, data (uint32 × channels × samples)
///     id 1030  ndarray       uint16 type, version, dimensions; uint64 × dimensions; the values
///
/// This file is the reader of every body and the writer of the ones lpnd sends
/// (``MRDImageMessage`` writes images).
public enum MRDMessage: Sendable {
    case configFile(name: String)
    case configText(String)
    case header(xml: String)
    case close
    case text(String)
    case acquisition(MRDAcquisition)
    /// An image, waveform or array a client may send: read whole, not used.
    case ignored(kind: String, bytes: Int)

    /// Whether the message ends a run of acquisitions (a header or a close).
    var endsRejection: Bool {
        switch self {
        case .header, .close: return true
        default: return false
        }
    }

    public static let configFileID: UInt16 = 1, configTextID: UInt16 = 2, headerID: UInt16 = 3, closeID: UInt16 = 4
    public static let textID: UInt16 = 5, acquisitionID: UInt16 = 1008, imageID: UInt16 = 1022
    public static let waveformID: UInt16 = 1026, ndarrayID: UInt16 = 1030
    /// The config file message's fixed body size.
    public static let configFileBytes = 1024
    /// The longest XML header, config text or text accepted (bytes).
    public static let maxHeaderBytes = 1 << 20

    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Reads one message; the problem names the id, size or field that is wrong.
    public static func decode(_ bytes: [UInt8]) -> Result<MRDMessage, Problem> {
        guard bytes.count >= 2 else { return .failure(Problem(description: "an MRD message needs at least its 2-byte id, got \(bytes.count) bytes")) }
        let id = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        let body = bytes[2...]  // a view: no copy of the line's samples
        switch id {
        case configFileID:
            guard body.count == configFileBytes else {
                return .failure(Problem(description: "MRD config file message: \(body.count) bytes; it has \(configFileBytes)"))
            }
            return string(body, what: "config file name").map { .configFile(name: $0) }
        case configTextID: return lengthPrefixed(body, what: "config text").map { .configText($0) }
        case headerID: return lengthPrefixed(body, what: "header").map { .header(xml: $0) }
        case closeID:
            guard body.isEmpty else { return .failure(Problem(description: "MRD close message has a \(body.count)-byte body; it has none")) }
            return .success(.close)
        case textID: return lengthPrefixed(body, what: "text").map { .text($0) }
        case acquisitionID: return MRDAcquisition.decode(body).map { .acquisition($0) }
        case imageID, waveformID, ndarrayID:
            let kind = id == imageID ? "image" : id == waveformID ? "waveform" : "ndarray"
            return .success(.ignored(kind: kind, bytes: body.count))
        default:
            return .failure(Problem(description: "MRD message id \(id) does not exist (1, 2 config, 3 header, 4 close, 5 text, 1008 acquisition, 1022 image, 1026 waveform, 1030 ndarray)"))
        }
    }

    /// A uint32 length, then that many bytes of UTF-8 (trailing NULs dropped).
    private static func lengthPrefixed(_ body: ArraySlice<UInt8>, what: String) -> Result<String, Problem> {
        guard body.count >= 4 else { return .failure(Problem(description: "MRD \(what) message: missing its uint32 length")) }
        let length = Int(body.loadLE(UInt32.self, at: 0))
        guard length <= maxHeaderBytes else { return .failure(Problem(description: "MRD \(what) of \(length) bytes exceeds the \(maxHeaderBytes)-byte limit")) }
        guard body.count == 4 + length else {
            return .failure(Problem(description: "MRD \(what) message: length field says \(length) bytes, \(body.count - 4) follow"))
        }
        return string(body.dropFirst(4), what: what)
    }

    private static func string(_ bytes: ArraySlice<UInt8>, what: String) -> Result<String, Problem> {
        var text = Array(bytes)
        while text.last == 0 { text.removeLast() }
        guard let string = String(validating: text, as: UTF8.self) else { return .failure(Problem(description: "MRD \(what) is not valid UTF-8")) }
        return .success(string)
    }

    /// Writer: a header message for `xml`.
    public static func encodeHeader(xml: String) -> [UInt8] { encodeLengthPrefixed(headerID, xml) }

    /// Writer: a text message (lpnd sends its errors to MRD clients this way).
    public static func encodeText(_ text: String) -> [UInt8] { encodeLengthPrefixed(textID, text) }

    /// Writer: a config file message naming `name`.
    public static func encodeConfigFile(_ name: String) -> [UInt8] {
        let bytes = Array(name.utf8.prefix(configFileBytes - 1))
        return littleEndian(configFileID) + bytes + [UInt8](repeating: 0, count: configFileBytes - bytes.count)
    }

    /// Writer: an acquisition message from the raw 340-byte header, trajectory and data floats.
    public static func encodeAcquisition(header: [UInt8], trajectory: [Float], data: [Float]) -> [UInt8] {
        precondition(header.count == MRDAcquisition.headerBytes)
        return littleEndian(acquisitionID) + header + trajectory.withUnsafeBytes { Array($0) } + data.withUnsafeBytes { Array($0) }
    }

    public static func encodeClose() -> [UInt8] { littleEndian(closeID) }

    private static func encodeLengthPrefixed(_ id: UInt16, _ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return littleEndian(id) + littleEndian(UInt32(bytes.count)) + bytes
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

extension ArraySlice where Element == UInt8 {
    /// A little-endian integer at a byte offset from the slice's start (unaligned).
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    /// A little-endian float32 at a byte offset from the slice's start (unaligned).
    func loadFloat(at offset: Int) -> Float { Float(bitPattern: loadLE(UInt32.self, at: offset)) }
}

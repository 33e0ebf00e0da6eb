import Foundation

/// One MRD (ISMRMRD) stream message, byte for byte as the MRD streaming format frames it: a
/// little-endian uint16 message id, then its body (docs/PROTOCOL.md §8). lpnd carries one per
/// ZeroMQ message, after an lpnd envelope part that names the stream and the pipeline.
///
///     id 3     header       uint32 length, then the XML header (UTF-8; a trailing NUL is allowed)
///     id 1008  acquisition  the 340-byte acquisition header, trajectory (float32 ×
///                           trajectory_dimensions × samples), data (complex64 × channels × samples)
///     id 4     close        nothing: the stream ends
///
/// This file is the reader and the writer of these bodies.
public enum MRDMessage: Sendable {
    case header(xml: String)
    case acquisition(MRDAcquisition)
    case close

    /// Whether the message ends a run of acquisitions (a header or a close).
    var endsRejection: Bool {
        if case .acquisition = self { return false }
        return true
    }

    public static let headerID: UInt16 = 3
    public static let closeID: UInt16 = 4
    public static let acquisitionID: UInt16 = 1008
    /// The longest XML header accepted (bytes).
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
        case headerID:
            guard body.count >= 4 else { return .failure(Problem(description: "MRD header message: missing its uint32 length")) }
            let length = Int(body.loadLE(UInt32.self, at: 0))
            guard length <= maxHeaderBytes else { return .failure(Problem(description: "MRD header of \(length) bytes exceeds the \(maxHeaderBytes)-byte limit")) }
            guard body.count == 4 + length else {
                return .failure(Problem(description: "MRD header message: length field says \(length) bytes, \(body.count - 4) follow"))
            }
            var text = Array(body.dropFirst(4))
            while text.last == 0 { text.removeLast() }
            guard let xml = String(validating: text, as: UTF8.self) else {
                return .failure(Problem(description: "MRD header is not valid UTF-8"))
            }
            return .success(.header(xml: xml))
        case closeID:
            guard body.isEmpty else { return .failure(Problem(description: "MRD close message has a \(body.count)-byte body; it has none")) }
            return .success(.close)
        case acquisitionID:
            return MRDAcquisition.decode(body).map { .acquisition($0) }
        default:
            return .failure(Problem(description: "MRD message id \(id) is not supported (3 header, 1008 acquisition, 4 close)"))
        }
    }

    /// Writer: a header message for `xml`.
    public static func encodeHeader(xml: String) -> [UInt8] {
        let text = Array(xml.utf8)
        return littleEndian(headerID) + littleEndian(UInt32(text.count)) + text
    }

    /// Writer: an acquisition message from the raw 340-byte header, trajectory and data floats.
    public static func encodeAcquisition(header: [UInt8], trajectory: [Float], data: [Float]) -> [UInt8] {
        precondition(header.count == MRDAcquisition.headerBytes)
        return littleEndian(acquisitionID) + header + trajectory.withUnsafeBytes { Array($0) } + data.withUnsafeBytes { Array($0) }
    }

    public static func encodeClose() -> [UInt8] { littleEndian(closeID) }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

/// One MRD acquisition (a readout line of every active channel): the header fields lpnd uses,
/// at their offsets in the packed 340-byte ISMRMRD_AcquisitionHeader, and the samples.
public struct MRDAcquisition: Sendable {
    public static let headerBytes = 340

    /// ISMRMRD_AcquisitionFlags: flag n is bit n − 1 of `flags`.
    public enum Flag: Int, Sendable {
        case firstInSlice = 7, lastInSlice = 8
        case noise = 19, parallelCalibration = 20, parallelCalibrationAndImaging = 21, reverse = 22
        case navigation = 23, phaseCorrection = 24, lastInMeasurement = 25, hpFeedback = 26, dummyScan = 27
        case rtFeedback = 28, surfaceCoilCorrection = 29, phaseStabilizationReference = 30, phaseStabilization = 31
    }

    /// Flags of lines that carry no imaging k-space (skipped by frame assembly).
    public static let nonImaging: [Flag] = [.noise, .navigation, .phaseCorrection, .hpFeedback, .dummyScan, .rtFeedback,
                                            .surfaceCoilCorrection, .phaseStabilizationReference, .phaseStabilization]

    public var flags: UInt64
    public var samples: Int
    public var activeChannels: Int
    public var discardPre: Int, discardPost: Int
    public var centerSample: Int
    public var trajectoryDimensions: Int
    /// Encoding counters.
    public var step1: Int, step2: Int, average: Int, slice: Int, contrast: Int, phase: Int, repetition: Int, set: Int
    /// [channels][samples] complex64, interleaved (re, im).
    public var data: [Float]

    public func has(_ flag: Flag) -> Bool { flags & (1 << UInt64(flag.rawValue - 1)) != 0 }
    public var isImaging: Bool { !Self.nonImaging.contains { has($0) } }

    static func decode(_ body: ArraySlice<UInt8>) -> Result<MRDAcquisition, MRDMessage.Problem> {
        guard body.count >= headerBytes else {
            return .failure(.init(description: "MRD acquisition: \(body.count) bytes, the header alone has \(headerBytes)"))
        }
        func u16(_ offset: Int) -> Int { Int(body.loadLE(UInt16.self, at: offset)) }
        let samples = u16(34), channels = u16(38), trajectory = u16(176)
        let expected = headerBytes + 4 * trajectory * samples + 8 * channels * samples
        guard body.count == expected else {
            return .failure(.init(description: "MRD acquisition: \(body.count) bytes; \(samples) samples × \(channels) channels with trajectory dimension \(trajectory) need \(expected)"))
        }
        let dataStart = headerBytes + 4 * trajectory * samples
        var data = [Float](repeating: 0, count: 2 * channels * samples)
        data.withUnsafeMutableBytes { out in
            body.withUnsafeBytes { raw in out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[dataStart...])) }
        }
        return .success(MRDAcquisition(
            flags: body.loadLE(UInt64.self, at: 2), samples: samples, activeChannels: channels,
            discardPre: u16(168), discardPost: u16(170), centerSample: u16(172), trajectoryDimensions: trajectory,
            step1: u16(242), step2: u16(244), average: u16(246), slice: u16(248), contrast: u16(250), phase: u16(252),
            repetition: u16(254), set: u16(256), data: data))
    }
}

extension ArraySlice where Element == UInt8 {
    /// A little-endian integer at a byte offset from the slice's start (unaligned).
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

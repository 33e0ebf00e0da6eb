import Foundation

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
    /// Where the line was acquired, copied into the images made from it (``MRDGeometry``).
    public var geometry = MRDGeometry()
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
            repetition: u16(254), set: u16(256),
            geometry: MRDGeometry(body), data: data))
    }
}

/// The acquisition header fields an image header repeats: identity, time stamps and the slice's
/// position and orientation (patient coordinates, mm and unit vectors).
public struct MRDGeometry: Sendable, Equatable {
    public var measurementUID: UInt32 = 0
    public var acquisitionTimeStamp: UInt32 = 0
    public var physiologyTimeStamps: [UInt32] = [0, 0, 0]
    public var position: [Float] = [0, 0, 0]
    public var readDirection: [Float] = [0, 0, 0]
    public var phaseDirection: [Float] = [0, 0, 0]
    public var sliceDirection: [Float] = [0, 0, 0]
    public var patientTablePosition: [Float] = [0, 0, 0]

    public init() {}

    /// From a 340-byte acquisition header.
    init(_ header: ArraySlice<UInt8>) {
        func floats(_ offset: Int) -> [Float] { (0..<3).map { header.loadFloat(at: offset + 4 * $0) } }
        measurementUID = header.loadLE(UInt32.self, at: 10)
        acquisitionTimeStamp = header.loadLE(UInt32.self, at: 18)
        physiologyTimeStamps = (0..<3).map { header.loadLE(UInt32.self, at: 22 + 4 * $0) }
        position = floats(182)
        readDirection = floats(194)
        phaseDirection = floats(206)
        sliceDirection = floats(218)
        patientTablePosition = floats(230)
    }
}

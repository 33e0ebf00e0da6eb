import Foundation
import TensorIO

/// How the values of a measurement (or image) are stored.
public enum SampleType: String, Codable, Sendable, CaseIterable {
    case float32, complex64

    /// Floats per sample: 1 for float32, 2 (re, im) for complex64.
    public var floatsPerSample: Int { self == .complex64 ? 2 : 1 }
}

/// A measurement as it travels: values interleaved (re, im) for complex64; `shape` excludes
/// the complex pair, so `values.count == shape.product * type.floatsPerSample`.
public struct Measurement: Sendable, Equatable {
    public var shape: [Int]
    public var type: SampleType
    public var values: [Float]
    /// MRI frames assembled from readout lines (MRD): the phase-encode rows (in the wire's
    /// k-space layout) that were acquired; they replace the pipeline's mask for this frame.
    public var sampledRows: [Int]?

    public init(shape: [Int], type: SampleType, values: [Float], sampledRows: [Int]? = nil) {
        self.shape = shape
        self.type = type
        self.values = values
        self.sampledRows = sampledRows
    }

    /// Number of samples (complex pairs count once).
    public var sampleCount: Int { shape.reduce(1, *) }
}

/// Everything that can go wrong between a pipeline file and an image.
public enum ReconstructionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The measurement's shape is not the pipeline's.
    case shapeMismatch(expected: [Int], got: [Int], what: String)
    /// The measurement's sample type is not the pipeline's.
    case typeMismatch(expected: SampleType, got: SampleType)
    /// A non-finite value in the input (flat float index).
    case nonFinite(what: String, index: Int, value: Float)
    /// The solver produced NaN/Inf or its data residual blew up; no image is returned.
    case diverged(iteration: Int, reason: String)
    /// A pipeline file is invalid: the key (dotted path) and what is wrong with it.
    case invalidPipeline(file: String, key: String, reason: String)
    /// A file (image, measurement, mask, matrix) cannot be used.
    case invalidFile(path: String, reason: String)
    /// Anything else the caller asked for that cannot be done.
    case invalidArgument(String)
    /// ``Reconstructor/cancel()`` was called; the frame stopped after `iteration` iterations.
    case cancelled(iteration: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let expected, let got, let what):
            return "shape mismatch: \(what) has shape \(got), the pipeline expects \(expected)"
        case .typeMismatch(let expected, let got):
            return "type mismatch: the measurement is \(got.rawValue), the pipeline expects \(expected.rawValue)"
        case .nonFinite(let what, let index, let value):
            return "non-finite input: \(what) has \(value) at flat index \(index)"
        case .diverged(let iteration, let reason):
            return "diverged at iteration \(iteration): \(reason)"
        case .invalidPipeline(let file, let key, let reason):
            return key.isEmpty ? "\(file): \(reason)" : "\(file): key '\(key)': \(reason)"
        case .invalidFile(let path, let reason):
            return "\(path): \(reason)"
        case .invalidArgument(let reason):
            return "invalid argument: \(reason)"
        case .cancelled(let iteration):
            return "cancelled after \(iteration) iteration(s)"
        }
    }
}

extension Array where Element == Int {
    var product: Int { reduce(1, *) }
}

/// First non-finite value of a float buffer, as (index, value).
func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> (Int, Float)? {
    for i in 0..<values.count where !values[i].isFinite { return (i, values[i]) }
    return nil
}

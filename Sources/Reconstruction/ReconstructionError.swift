import Foundation
import TensorIO

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

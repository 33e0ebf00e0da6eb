import Foundation
import TensorIO

/// How the values of a measurement (or image) are stored.
public enum SampleType: String, Codable, Sendable, CaseIterable {
    case float32, complex64

    /// Floats per sample: 1 for float32, 2 (re, im) for complex64.
    public var floatsPerSample: Int { self == .complex64 ? 2 : 1 }
}

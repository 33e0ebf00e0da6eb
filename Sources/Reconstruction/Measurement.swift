import Foundation
import TensorIO

/// A measurement as it travels: values interleaved (re, im) for complex64; `shape` excludes
/// the complex pair, so `values.count == shape.product * type.floatsPerSample`.
public struct Measurement: Sendable, Equatable {
    public var shape: [Int]
    public var type: SampleType
    public var values: [Float]
    /// MRI frames assembled from readout lines (MRD): the phase-encode rows (in the wire's
    /// k-space layout) that were acquired; they replace the pipeline's mask for this frame.
    public var sampledRows: [Int]?
    /// MRI frames assembled from readout lines: lines their sampling pattern promises and they
    /// lack (the frame is flagged ``FrameFlag/missingLines``).
    public var missingLines: Int

    public init(shape: [Int], type: SampleType, values: [Float], sampledRows: [Int]? = nil, missingLines: Int = 0) {
        self.missingLines = missingLines
        self.shape = shape
        self.type = type
        self.values = values
        self.sampledRows = sampledRows
    }

    /// Number of samples (complex pairs count once).
    public var sampleCount: Int { shape.reduce(1, *) }
}
